import { randomUUID } from 'node:crypto';
import { createTestStore, type TestStore } from '@antibody/testing';
import { drained, envelope, registerService, sentryEvent, startIngest, type TestIngest } from './support';

// An installation upgraded from the first release: ingest's tables exist without the duration
// histogram and with reports stored as jsonb `payload`. Starting the new version adds the columns,
// processes the rows the old version accepted, and stores new reports as text.
describe('upgrading ingest tables from the first release', () => {
  let t: TestStore;
  let ingest: TestIngest | undefined;

  beforeAll(async () => {
    t = await createTestStore('ingest_upgrade');
  });

  afterAll(async () => {
    await ingest?.stop();
    await t.cleanup();
  });

  it('adds the new columns once and loses none of the reports accepted before the upgrade', async () => {
    const s = `"${t.schema}"`;
    // The first release's shape of the two changed tables.
    await t.pool.query(`
      CREATE TABLE ${s}.ingest_intake (id uuid PRIMARY KEY, service text NOT NULL, kind text NOT NULL, payload jsonb NOT NULL, traceparent text, tracestate text,
        received_at timestamptz NOT NULL DEFAULT now(), processed_at timestamptz, failure text);
      CREATE TABLE ${s}.ingest_release_counts (service text NOT NULL, release text NOT NULL, environment text NOT NULL, bucket_start timestamptz NOT NULL,
        bucket_seconds integer NOT NULL, errors bigint NOT NULL DEFAULT 0, requests bigint NOT NULL DEFAULT 0, request_errors bigint NOT NULL DEFAULT 0,
        request_duration_ms_sum double precision NOT NULL DEFAULT 0, sessions_ok bigint NOT NULL DEFAULT 0, sessions_errored bigint NOT NULL DEFAULT 0,
        sessions_crashed bigint NOT NULL DEFAULT 0, sessions_abnormal bigint NOT NULL DEFAULT 0, PRIMARY KEY (service, release, environment, bucket_start));
      INSERT INTO ${s}.ingest_release_counts (service, release, environment, bucket_start, bucket_seconds, requests) VALUES ('old', 'old@1', '', now(), 60, 7);
    `);
    // A report the old version processed (and kept, as it did): its id must keep deduplicating retries.
    const processedBefore = randomUUID();
    await t.pool.query(`INSERT INTO ${s}.ingest_intake (id, service, kind, payload, processed_at) VALUES ($1, 'old', 'requests', '{}', now())`, [processedBefore]);
    // A report the old version accepted but had not processed yet (the service is registered below).
    const oldReport = {
      kind: 'requests',
      eventId: randomUUID(),
      service: 'placeholder',
      release: 'shop@0.9',
      count: 4,
      errors: 1,
      durationMsSum: 40,
      receivedAt: new Date().toISOString(),
    };

    ingest = await startIngest({}, t);
    const service = await registerService(t.store, t.pool, t.schema);
    await t.pool.query(`INSERT INTO ${s}.ingest_intake (id, service, kind, payload, received_at) VALUES ($1, $2, 'requests', $3, $4)`, [
      oldReport.eventId,
      service.name,
      JSON.stringify({ ...oldReport, service: service.name }),
      oldReport.receivedAt,
    ]);
    const answer = await fetch(`${ingest.url}/api/1/envelope/`, {
      method: 'POST',
      headers: { 'x-sentry-auth': `Sentry sentry_key=${service.key}` },
      body: envelope({}, [{ type: 'event' }, sentryEvent({ release: 'shop@1.0' })]),
    });
    expect(answer.status).toBe(200);
    await drained(t.pool, t.schema);

    const columns = await t.pool.query<{ table_name: string; column_name: string; is_nullable: string }>(
      `SELECT table_name, column_name, is_nullable FROM information_schema.columns
       WHERE table_schema = $1 AND column_name IN ('body', 'payload', 'request_duration_histogram') ORDER BY 1, 2`,
      [t.schema],
    );
    expect(columns.rows).toEqual([
      { table_name: 'ingest_intake', column_name: 'body', is_nullable: 'YES' },
      { table_name: 'ingest_intake', column_name: 'payload', is_nullable: 'YES' },
      { table_name: 'ingest_release_counts', column_name: 'request_duration_histogram', is_nullable: 'NO' },
    ]);
    const counts = await t.pool.query(
      `SELECT release, requests::int, request_errors::int, errors::int, request_duration_histogram::text AS histogram FROM ${s}.ingest_release_counts ORDER BY release`,
    );
    expect(counts.rows).toEqual([
      { release: 'old@1', requests: 7, request_errors: 0, errors: 0, histogram: '{}' },
      { release: 'shop@0.9', requests: 4, request_errors: 1, errors: 0, histogram: '{}' },
      { release: 'shop@1.0', requests: 0, request_errors: 0, errors: 1, histogram: '{}' },
    ]);
    // Both processed without failure (processed rows are deleted; a failed one would be kept).
    const left = await t.pool.query(`SELECT id FROM ${s}.ingest_intake WHERE service = $1`, [service.name]);
    expect(left.rows).toEqual([]);
    const ids = await t.pool.query<{ id: string }>(`SELECT id FROM ${s}.ingest_intake_ids WHERE service IN ($1, 'old') ORDER BY id`, [service.name]);
    expect(ids.rows.map((r) => r.id)).toContain(processedBefore);
    expect(ids.rows).toHaveLength(2); // the id of the report processed before the upgrade, and the new report's

    // A second start finds nothing to alter (and must not fail).
    const again = await startIngest({}, t);
    await again.stop();
  });
});
