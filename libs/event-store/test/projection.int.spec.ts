import { randomUUID } from 'node:crypto';
import { DataSource, type EntityManager } from 'typeorm';
import { resetProjection, runProjection, subscribe, type Projection, type StoredEvent } from '@antibody/event-store';
import { createTestStore, testMetadata, waitFor, type TestStore } from '@antibody/testing';

/** A read model of open incidents per service: a deterministic fold over the log. */
function incidentsPerService(name: string, table: string): Projection {
  return {
    name,
    async handle(events: readonly StoredEvent[], manager: EntityManager) {
      for (const event of events) {
        if (event.type === 'IncidentOpened') {
          const { service } = event.data as { service: string };
          await manager.query(
            `INSERT INTO ${table} (service, opened, last_stream) VALUES ($1, 1, $2)
             ON CONFLICT (service) DO UPDATE SET opened = ${table}.opened + 1, last_stream = excluded.last_stream`,
            [service, event.streamId],
          );
        }
      }
    },
    async reset(manager: EntityManager) {
      await manager.query(`DELETE FROM ${table}`);
    },
  };
}

describe('projections and checkpointed subscriptions', () => {
  let t: TestStore;
  let dataSource: DataSource;
  beforeAll(async () => {
    t = await createTestStore('proj');
    dataSource = new DataSource({ type: 'postgres', url: t.databaseUrl, schema: t.schema, poolSize: 4 });
    await dataSource.initialize();
    for (const table of ['live', 'rebuilt']) {
      await dataSource.query(`CREATE TABLE "${t.schema}".${table} (service text PRIMARY KEY, opened int NOT NULL, last_stream text NOT NULL)`);
    }
  });
  afterAll(async () => {
    await dataSource.destroy();
    await t.cleanup();
  });

  const opened = (service: string) => {
    const incidentId = randomUUID();
    return {
      type: 'IncidentOpened',
      data: { incidentId, service, fingerprint: randomUUID().replace(/-/g, ''), exception: { type: 'Error', value: 'x' }, firstSeen: new Date().toISOString() },
      metadata: testMetadata({ correlationId: incidentId }),
    };
  };

  it('a live projection equals the same projection rebuilt from position 0', async () => {
    const live = runProjection(t.store, dataSource, incidentsPerService('live', `"${t.schema}".live`), { batchSize: 7 });
    const services = ['checkout', 'search', 'billing'];
    // Appends race with the live projection, from several writers at once.
    await Promise.all(
      services.map(async (service, i) => {
        for (let n = 0; n < 15 + i * 5; n++) await t.store.appendToStream(`incident-${randomUUID()}`, [opened(service)]);
      }),
    );
    await live.caughtUp();

    const rebuilt = incidentsPerService('rebuilt', `"${t.schema}".rebuilt`);
    await resetProjection(t.store, dataSource, rebuilt);
    const rebuilding = runProjection(t.store, dataSource, rebuilt, { batchSize: 100 });
    await rebuilding.caughtUp();
    const read = (table: string) => dataSource.query(`SELECT service, opened, last_stream FROM "${t.schema}".${table} ORDER BY service`);
    const liveRows = await read('live');
    expect(liveRows).toEqual(await read('rebuilt'));
    expect(liveRows.map((r: { opened: number }) => r.opened)).toEqual([25, 15, 20]) // billing, checkout, search;

    // Rebuilding again from 0 gives identical rows once more.
    await rebuilding.stop();
    await resetProjection(t.store, dataSource, rebuilt);
    const again = runProjection(t.store, dataSource, rebuilt);
    await again.caughtUp();
    expect(await read('rebuilt')).toEqual(liveRows);
    await again.stop();
    await live.stop();
  });

  it('commits the checkpoint with the handler effect: a failing batch leaves neither', async () => {
    await t.pool.query(`CREATE TABLE "${t.schema}".effects (event_id uuid PRIMARY KEY)`);
    let failOnce = true;
    const errors: unknown[] = [];
    const sub = subscribe(
      t.store,
      'effects',
      async (events, client) => {
        for (const event of events) await client.query(`INSERT INTO "${t.schema}".effects VALUES ($1)`, [event.eventId]);
        if (failOnce) {
          failOnce = false;
          throw new Error('crash after the effect, before the checkpoint');
        }
      },
      { from: 'start', onError: (e) => errors.push(e) },
    );
    await sub.caughtUp();
    await waitFor(() => errors.length === 1, { description: 'the failure to be reported' });
    const { rows } = await t.pool.query(`SELECT count(*)::int AS n FROM "${t.schema}".effects`);
    const total = await t.pool.query(`SELECT count(*)::int AS n FROM "${t.schema}".events`);
    expect(rows[0].n).toBe(total.rows[0].n);
    await sub.stop();
  });

  it('lets only one of two instances of a subscription process, and hands over when it stops', async () => {
    await t.pool.query(`CREATE TABLE "${t.schema}".handled (event_id uuid PRIMARY KEY, instance text NOT NULL)`);
    const handler = (instance: string) => async (events: readonly StoredEvent[], client: import('pg').PoolClient) => {
      for (const event of events) await client.query(`INSERT INTO "${t.schema}".handled VALUES ($1, $2)`, [event.eventId, instance]);
    };
    const a = subscribe(t.store, 'shared', handler('a'), { batchSize: 5, pollIntervalMs: 50 });
    const b = subscribe(t.store, 'shared', handler('b'), { batchSize: 5, pollIntervalMs: 50 });
    for (let i = 0; i < 20; i++) await t.store.appendToStream(`incident-${randomUUID()}`, [opened('x')]);
    await a.caughtUp();
    await a.stop();
    for (let i = 0; i < 5; i++) await t.store.appendToStream(`incident-${randomUUID()}`, [opened('y')]);
    await b.caughtUp();
    const { rows } = await t.pool.query(`SELECT count(*)::int AS n FROM "${t.schema}".handled`);
    const total = await t.pool.query(`SELECT count(*)::int AS n FROM "${t.schema}".events`);
    expect(rows[0].n).toBe(total.rows[0].n); // primary key: a second handling would have failed
    await b.stop();
  });

  it('does not hold back other readers while a handler works (until it writes)', async () => {
    let release: () => void = () => undefined;
    const working = new Promise<void>((resolve) => (release = resolve));
    let started = false;
    const sub = subscribe(
      t.store,
      'slow-handler',
      async () => {
        started = true;
        await working; // a long validation, say: no write yet
      },
      { from: 'now', batchSize: 1 },
    );
    await t.store.appendToStream(`incident-${randomUUID()}`, [opened('slow')]);
    await waitFor(() => started, { description: 'the slow handler to start' });
    const before = await t.store.headCheckpoint();
    const later = `incident-${randomUUID()}`;
    await t.store.appendToStream(later, [opened('later')]);
    // Another reader sees the later event while the handler's transaction is still open.
    const seen = await waitFor(async () => (await t.store.readAll({ after: before })).events.some((e) => e.streamId === later), {
      timeoutMs: 10_000,
      description: 'the later event to be readable during the slow handler',
    });
    expect(seen).toBe(true);
    release();
    await sub.caughtUp();
    await sub.stop();
  });
});
