import { createEventStore, migrateEventStore } from '@antibody/event-store';
import { startEmbeddedPostgres, uniqueName, waitFor, type EmbeddedPostgres, type TestStore } from '@antibody/testing';
import { Pool } from 'pg';
import { drained, envelope, registerService, sentryEvent, startIngest, type TestIngest } from './support';

// Ingest on a Postgres that goes away: it must answer 503 + Retry-After instead of acknowledging
// what it cannot store, and everything it did acknowledge must be counted once Postgres is back.
describe('ingest while Postgres is down', () => {
  let pg: EmbeddedPostgres;
  let t: TestStore;
  let ingest: TestIngest;

  beforeAll(async () => {
    pg = await startEmbeddedPostgres({ persistent: true });
    const schema = uniqueName('ingest_down');
    await migrateEventStore({ connectionString: pg.url, schema });
    const pool = new Pool({ connectionString: pg.url, max: 5 });
    pool.on('error', () => undefined);
    const store = createEventStore({ pool, schema });
    t = { databaseUrl: pg.url, schema, pool, store, cleanup: async () => { await store.close(); await pool.end(); } };
    ingest = await startIngest({ INGEST_RETRY_AFTER_SECONDS: 7 }, t);
  }, 120_000);

  afterAll(async () => {
    await ingest?.stop().catch(() => undefined);
    await t?.cleanup().catch(() => undefined);
    await pg?.shutdown();
  });

  it('answers 503 with Retry-After while down, and loses nothing it acknowledged', async () => {
    const service = await registerService(t.store, t.pool, t.schema);
    const headers = { 'x-sentry-auth': `Sentry sentry_key=${service.key}` };
    const acknowledged: string[] = [];
    const send = async (): Promise<Response> => {
      const event = sentryEvent({ release: 'shop@2.0.0' });
      const res = await fetch(`${ingest.url}/api/1/envelope/`, { method: 'POST', body: envelope({ event_id: event['event_id'] }, [{ type: 'event' }, event]), headers });
      if (res.status === 200) acknowledged.push(event['event_id'] as string);
      return res;
    };
    for (let i = 0; i < 5; i++) expect((await send()).status).toBe(200);

    await pg.stop();
    const refused = await send();
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('7');
    expect(await refused.json()).toMatchObject({ error: 'store_unavailable' });
    expect((await send()).status).toBe(503);

    await pg.start();
    await waitFor(async () => (await send()).status === 200, { timeoutMs: 30_000, intervalMs: 200, description: 'ingest to accept again after Postgres restarted' });
    for (let i = 0; i < 3; i++) expect((await send()).status).toBe(200);

    await drained(t.pool, t.schema, 30_000);
    // Stored (their ids), processed (no longer in the intake) and not failed (a failed row is kept there).
    const stored = await t.pool.query<{ id: string }>(
      `SELECT id FROM "${t.schema}".ingest_intake_ids i WHERE service = $1 AND NOT EXISTS (SELECT 1 FROM "${t.schema}".ingest_intake r WHERE r.id = i.id)`,
      [service.name],
    );
    expect(stored.rows.map((r) => r.id.replace(/-/g, '')).sort()).toEqual([...acknowledged].sort());
    const counted = await t.pool.query(`SELECT sum(errors)::int AS errors FROM "${t.schema}".ingest_release_counts WHERE service = $1`, [service.name]);
    expect(counted.rows[0].errors).toBe(acknowledged.length);
  });
});
