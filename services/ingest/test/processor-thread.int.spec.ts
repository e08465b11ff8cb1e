import { randomUUID } from 'node:crypto';
import { createTestStore, waitFor, type TestStore } from '@antibody/testing';
import { ProcessorThread, type ProcessorThreadData } from '../src/infrastructure/processor-thread';
import { migrateIngestSchema } from '../src/infrastructure/schema';

// The processor's worker thread: it processes what the intake stores, reports its counts to the
// main thread, stops cleanly, and when it dies it is reported down and started again.
describe('the processor thread', () => {
  let t: TestStore;

  beforeAll(async () => {
    t = await createTestStore('ingest_thread');
    await migrateIngestSchema(t.pool, t.schema);
  });

  afterAll(async () => {
    await t.cleanup();
  });

  const data = (overrides: Partial<ProcessorThreadData> = {}): ProcessorThreadData => ({
    databaseUrl: t.databaseUrl,
    schema: t.schema,
    serviceName: 'antibody-ingest',
    producer: { service: 'ingest', instance: 'thread-test' },
    samplesPerIncident: 10,
    bucketSeconds: 60,
    keepProcessedHours: 24,
    vacuumAfterRows: 1000,
    sourceRoot: process.cwd(),
    poolSize: 2,
    ...overrides,
  });

  it('processes stored rows when woken, reports them, and stops after draining', async () => {
    const processed: number[] = [];
    const errors: string[] = [];
    const thread = new ProcessorThread(data({ pollIntervalMs: 60_000 }), { onProcessed: (n) => processed.push(n), warn: (m) => errors.push(m), error: (m) => errors.push(m) });
    thread.start();
    expect(thread.health().up).toBe(true);
    const id = randomUUID();
    const report = { kind: 'session', eventId: id, service: 'thread-shop', receivedAt: new Date().toISOString(), release: 'shop@1.0.0', environment: 'production', ok: 2, errored: 1, crashed: 0, abnormal: 0 };
    await t.pool.query(`INSERT INTO "${t.schema}".ingest_intake (id, service, kind, body, received_at) VALUES ($1, $2, 'session', $3, $4)`, [id, report.service, JSON.stringify(report), report.receivedAt]);
    // Woken (not polled: the poll is a minute away) as the intake's commits do.
    await waitFor(
      async () => {
        thread.wake();
        return processed.reduce((a, b) => a + b, 0) === 1;
      },
      { timeoutMs: 20_000, description: 'the thread to process the row' },
    );
    const counts = await t.pool.query(`SELECT sessions_ok, sessions_errored FROM "${t.schema}".ingest_release_counts WHERE service = 'thread-shop'`);
    expect(counts.rows).toEqual([{ sessions_ok: '2', sessions_errored: '1' }]);
    await thread.stop();
    expect(thread.health()).toEqual({ up: false, message: 'stopped' });
    expect(errors).toEqual([]);
  });

  const vacuums = async (): Promise<number> =>
    Number((await t.pool.query(`SELECT vacuum_count FROM pg_stat_user_tables WHERE schemaname = $1 AND relname = 'ingest_intake'`, [t.schema])).rows[0].vacuum_count);

  it('vacuums the intake after every vacuumAfterRows reports it processed, and not before', async () => {
    const processed: number[] = [];
    const errors: string[] = [];
    const thread = new ProcessorThread(data({ pollIntervalMs: 60_000, vacuumAfterRows: 6 }), { onProcessed: (n) => processed.push(n), warn: (m) => errors.push(m), error: (m) => errors.push(m) });
    thread.start();
    try {
      const before = await vacuums();
      const store = async (count: number) => {
        for (let i = 0; i < count; i++) {
          const id = randomUUID();
          const report = { kind: 'session', eventId: id, service: 'vacuum-shop', receivedAt: new Date().toISOString(), release: 'shop@1.0.0', environment: 'production', ok: 1, errored: 0, crashed: 0, abnormal: 0 };
          await t.pool.query(`INSERT INTO "${t.schema}".ingest_intake (id, service, kind, body, received_at) VALUES ($1, $2, 'session', $3, $4)`, [id, report.service, JSON.stringify(report), report.receivedAt]);
        }
      };
      const processedAll = (n: number) =>
        waitFor(
          async () => {
            thread.wake();
            return processed.reduce((a, b) => a + b, 0) === n;
          },
          { timeoutMs: 20_000, description: `the thread to process ${n} rows` },
        );
      await store(5);
      await processedAll(5);
      // Five reports of six: no vacuum of the processor's (autovacuum's are counted apart).
      expect(await vacuums()).toBe(before);
      await store(1);
      await processedAll(6);
      await waitFor(async () => (await vacuums()) === before + 1, { timeoutMs: 20_000, description: 'the processor to vacuum the intake' });
    } finally {
      await thread.stop();
    }
    expect(errors).toEqual([]);
  });

  it('is reported down when it dies, and started again', async () => {
    const errors: string[] = [];
    // A schema name the event store refuses: the thread fails as it starts, every time.
    const thread = new ProcessorThread(data({ schema: 'Not A Schema' }), { onProcessed: () => undefined, warn: (m) => errors.push(m), error: (m) => errors.push(m) });
    thread.start();
    await waitFor(() => !thread.health().up, { timeoutMs: 20_000, description: 'the thread to die' });
    expect(thread.health().message).toMatch(/processor thread exited \(code 1\).*not allowed/);
    await waitFor(() => errors.filter((e) => e.includes('starting it again')).length >= 2, { timeoutMs: 20_000, description: 'the thread to be started again' });
    await thread.stop();
    expect(thread.health().up).toBe(false);
  });
});
