import { randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { createTestStore, freePort, type TestStore } from '@antibody/testing';
import type { IntakeReport } from '../src/domain/report';
import { IntakeUnavailableError, IntakeWriter, type IntakeRow } from '../src/infrastructure/intake';
import { migrateIngestSchema } from '../src/infrastructure/schema';

/** A pool whose `query` reports how many statements ran and how many ran at once. */
function countingPool(pool: Pool): { pool: Pool; statements: () => number; maxInFlight: () => number } {
  let statements = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  const counting = Object.create(pool) as Pool;
  counting.query = (async (...args: Parameters<Pool['query']>) => {
    statements += 1;
    inFlight += 1;
    maxInFlight = Math.max(maxInFlight, inFlight);
    try {
      return await (pool.query as (...a: unknown[]) => Promise<unknown>)(...args);
    } finally {
      inFlight -= 1;
    }
  }) as Pool['query'];
  return { pool: counting, statements: () => statements, maxInFlight: () => maxInFlight };
}

function row(id = randomUUID()): IntakeRow {
  const report: IntakeReport = {
    kind: 'error',
    eventId: id,
    service: 'shop',
    source: 'native',
    exception: { type: 'TypeError', value: 'boom' },
    frames: [],
    tags: {},
    receivedAt: new Date().toISOString(),
  };
  return { report };
}

describe('IntakeWriter (group commit on Postgres)', () => {
  let t: TestStore;

  beforeAll(async () => {
    t = await createTestStore('intake_writer');
    await migrateIngestSchema(t.pool, t.schema);
  });
  afterAll(() => t.cleanup());

  const stored = async (ids: readonly string[]): Promise<number> =>
    Number((await t.pool.query(`SELECT count(*) AS n FROM "${t.schema}".ingest_intake WHERE id = ANY($1::uuid[])`, [ids])).rows[0].n);

  it('keeps one write in flight while the waiting rows fit in one batch, and stores every row before resolving', async () => {
    const counting = countingPool(t.pool);
    const writer = new IntakeWriter(counting.pool, t.schema, 500, 3);
    const rows = Array.from({ length: 60 }, () => row());
    await Promise.all(rows.map((r) => writer.write([r])));
    expect(counting.maxInFlight()).toBe(1);
    // The first call goes alone; the 59 that arrived meanwhile share the next INSERT.
    expect(counting.statements()).toBe(2);
    expect(await stored(rows.map((r) => r.report.eventId))).toBe(60);
  });

  it('starts further writes, up to its limit, only when a full batch is waiting', async () => {
    const counting = countingPool(t.pool);
    const writer = new IntakeWriter(counting.pool, t.schema, 10, 3);
    const rows = Array.from({ length: 60 }, () => row());
    await Promise.all(rows.map((r) => writer.write([r])));
    expect(counting.maxInFlight()).toBe(3);
    expect(await stored(rows.map((r) => r.report.eventId))).toBe(60);
  });

  it('stores exactly the rows of batches of any size (prepared statements padded to their row count, and larger ones unprepared)', async () => {
    const writer = new IntakeWriter(t.pool, t.schema);
    const before = Number((await t.pool.query(`SELECT count(*) AS n FROM "${t.schema}".ingest_intake_ids`)).rows[0].n);
    const batches = [1, 3, 17, 100, 513].map((n) => Array.from({ length: n }, () => row()));
    for (const batch of batches) await writer.write(batch);
    const ids = batches.flat().map((r) => r.report.eventId);
    expect(await stored(ids)).toBe(ids.length);
    // The padding inserted nothing.
    expect(Number((await t.pool.query(`SELECT count(*) AS n FROM "${t.schema}".ingest_intake_ids`)).rows[0].n)).toBe(before + ids.length);
    // Used again on the same connections, the prepared statements still store each call's rows.
    const again = Array.from({ length: 3 }, () => row());
    await writer.write(again);
    expect(await stored(again.map((r) => r.report.eventId))).toBe(3);
  });

  it('stores a retried report once', async () => {
    const writer = new IntakeWriter(t.pool, t.schema);
    const id = randomUUID();
    await Promise.all([writer.write([row(id)]), writer.write([row(id)])]);
    await writer.write([row(id)]);
    expect(await stored([id])).toBe(1);
  });

  it('keeps report text up to a page uncompressed and compresses larger text with lz4 when the server offers it, pglz otherwise (also after migrating again)', async () => {
    await migrateIngestSchema(t.pool, t.schema);
    const offered = (await t.pool.query(`SELECT 'lz4' = ANY (enumvals) AS lz4 FROM pg_settings WHERE name = 'default_toast_compression'`)).rows[0]?.lz4 === true;
    const withMessage = (length: number): IntakeReport => ({ ...row().report, exception: { type: 'TypeError', value: 'a long message '.repeat(length / 15) } }) as IntakeReport;
    const typical = withMessage(3500);
    const large = withMessage(20_000);
    await new IntakeWriter(t.pool, t.schema).write([{ report: typical }, { report: large }]);
    const stored = async (report: IntakeReport) =>
      (await t.pool.query(`SELECT pg_column_compression(body) AS method, body FROM "${t.schema}".ingest_intake WHERE id = $1`, [report.eventId])).rows[0];
    expect((await stored(typical)).method).toBeNull();
    expect((await stored(large)).method).toBe(offered ? 'lz4' : 'pglz');
    expect(JSON.parse((await stored(typical)).body)).toEqual(typical);
    expect(JSON.parse((await stored(large)).body)).toEqual(large);
  });

  it('rejects with IntakeUnavailableError when Postgres cannot be reached, and stores nothing of that call', async () => {
    const url = new URL(t.databaseUrl);
    url.port = String(await freePort());
    const unreachable = new Pool({ connectionString: url.toString(), connectionTimeoutMillis: 2000 });
    unreachable.on('error', () => undefined);
    try {
      const writer = new IntakeWriter(unreachable, t.schema);
      const lost = row();
      await expect(writer.write([lost])).rejects.toBeInstanceOf(IntakeUnavailableError);
      expect(await stored([lost.report.eventId])).toBe(0);
    } finally {
      await unreachable.end();
    }
  });
});
