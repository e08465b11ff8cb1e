import { testMetadata, waitFor } from '@antibody/testing';
import { registerService, startIngest, type TestIngest } from './support';

// Ingest follows the whole life of a registration as the service fold reads it: an update of the
// registration (ServiceUpdated) changes what ingest uses, a deregistration refuses the service's
// reports, and a new registration takes them again.
describe('ingest and the registration of a service', () => {
  let ingest: TestIngest;

  beforeAll(async () => {
    ingest = await startIngest();
  });

  afterAll(async () => {
    await ingest.stop();
    await ingest.t.cleanup();
  });

  it('follows ServiceUpdated, refuses reports after ServiceDeregistered, and takes them again after a new ServiceRegistered', async () => {
    const { t } = ingest;
    const service = await registerService(t.store, t.pool, t.schema, { repository: '/srv/before' });
    const row = async () =>
      (await t.pool.query<{ repository: string; source_maps: string | null; deregistered: boolean }>(`SELECT repository, source_maps, deregistered FROM "${t.schema}".ingest_services WHERE name = $1`, [service.name])).rows[0];
    const send = () =>
      fetch(`${ingest.url}/v1/errors`, { method: 'POST', headers: { authorization: `Bearer ${service.key}`, 'content-type': 'application/json' }, body: JSON.stringify({ message: 'boom' }) });
    const stream = `service-${service.name}`;
    const registration = (await t.store.readStream(stream)).events[0]!.data as Record<string, unknown>;
    const updated = { ...registration, repository: { url: '/srv/after', defaultBranch: 'main' }, sourceMaps: 'dist/**/*.map' };

    await t.store.appendToStream(stream, [{ type: 'ServiceUpdated', data: { registration: updated, changed: ['repository.url', 'sourceMaps'] }, metadata: testMetadata({ correlationId: stream }) }]);
    await waitFor(async () => (await row())?.repository === '/srv/after', { timeoutMs: 15_000, description: 'ingest to project ServiceUpdated' });
    expect(await row()).toEqual({ repository: '/srv/after', source_maps: 'dist/**/*.map', deregistered: false });
    expect((await send()).status).toBe(202);

    await t.store.appendToStream(stream, [{ type: 'ServiceDeregistered', data: { name: service.name, reason: 'retired' }, metadata: testMetadata({ correlationId: stream }) }]);
    await waitFor(async () => (await send()).status === 403, { timeoutMs: 15_000, description: 'ingest to refuse the deregistered service' });
    expect(await (await send()).json()).toMatchObject({ error: 'service_deregistered' });

    await t.store.appendToStream(stream, [{ type: 'ServiceRegistered', data: updated, metadata: testMetadata({ correlationId: stream }) }]);
    await waitFor(async () => (await send()).status === 202, { timeoutMs: 15_000, description: 'ingest to take the registered service again' });
  });
});
