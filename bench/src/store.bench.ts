import { randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { createEventStore, dropEventStore, migrateEventStore, type EventStore, type NewEvent } from '@antibody/event-store';
import { discoverInfrastructure, testMetadata } from '@antibody/testing';
import { median, report } from './harness';

// Figures for the store issue; see docs/BENCHMARKS.md. Each measurement runs ROUNDS times and
// the median is reported; the raw-SQL baseline runs interleaved with it in the same process.
const ROUNDS = 3;
const SINGLE_WRITERS = 16;
const SINGLE_SECONDS = 4;
const BATCH_WRITERS = 4;
const BATCH_SIZE = 100;
const BATCH_SECONDS = 4;
const REPLAY_EVENTS = 1_000_000;
const PAGE = 5000;

function incidentOpened(): NewEvent {
  const incidentId = randomUUID();
  return {
    type: 'IncidentOpened',
    data: {
      incidentId,
      service: 'checkout',
      fingerprint: 'a3f1c9e07b5d42e8a3f1c9e07b5d42e8',
      exception: { type: 'TypeError', value: "Cannot read properties of undefined (reading 'id')" },
      release: 'checkout@1.4.2',
      environment: 'production',
      firstSeen: new Date().toISOString(),
    },
    metadata: testMetadata({ correlationId: incidentId, producer: { service: 'ingest', instance: 'bench-1' } }),
  };
}

async function forDuration(writers: number, seconds: number, work: (writer: number) => Promise<number>): Promise<number> {
  const deadline = Date.now() + seconds * 1000;
  const started = process.hrtime.bigint();
  const counts = await Promise.all(
    Array.from({ length: writers }, async (_, writer) => {
      let count = 0;
      while (Date.now() < deadline) count += await work(writer);
      return count;
    }),
  );
  const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
  return counts.reduce((a, b) => a + b, 0) / elapsed;
}

export async function main(): Promise<void> {
  const infrastructure = await discoverInfrastructure((line) => process.stderr.write(`${line}\n`));
  const schema = `bench_store_${Date.now().toString(36)}`;
  await migrateEventStore({ connectionString: infrastructure.databaseUrl, schema });
  const pool = new Pool({ connectionString: infrastructure.databaseUrl, max: SINGLE_WRITERS + 2 });
  const store: EventStore = createEventStore({ pool, schema });
  try {
    await pool.query(`CREATE TABLE "${schema}".raw (id bigserial PRIMARY KEY, stream_id text NOT NULL, data jsonb NOT NULL, metadata jsonb NOT NULL)`);
    const sample = incidentOpened();
    const rawInsert = `INSERT INTO "${schema}".raw (stream_id, data, metadata) VALUES ($1, $2, $3)`;
    const rawBatch = `INSERT INTO "${schema}".raw (stream_id, data, metadata)
      SELECT $1, d, m FROM unnest($2::jsonb[], $3::jsonb[]) AS u(d, m)`;

    const single: number[] = [];
    const singleRaw: number[] = [];
    const batch: number[] = [];
    const batchRaw: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      singleRaw.push(
        await forDuration(SINGLE_WRITERS, SINGLE_SECONDS, async (w) => {
          await pool.query({ name: 'raw-insert', text: rawInsert, values: [`raw-${w}`, JSON.stringify(sample.data), JSON.stringify(sample.metadata)] });
          return 1;
        }),
      );
      const streams = Array.from({ length: SINGLE_WRITERS }, () => `incident-${randomUUID()}`);
      single.push(
        await forDuration(SINGLE_WRITERS, SINGLE_SECONDS, async (w) => {
          await store.appendToStream(streams[w] as string, [incidentOpened()]);
          return 1;
        }),
      );
      batchRaw.push(
        await forDuration(BATCH_WRITERS, BATCH_SECONDS, async (w) => {
          const events = Array.from({ length: BATCH_SIZE }, incidentOpened);
          await pool.query({
            name: 'raw-batch',
            text: rawBatch,
            values: [`raw-${w}`, events.map((e) => JSON.stringify(e.data)), events.map((e) => JSON.stringify(e.metadata))],
          });
          return BATCH_SIZE;
        }),
      );
      batch.push(
        await forDuration(BATCH_WRITERS, BATCH_SECONDS, async () => {
          await store.appendToStream(`incident-${randomUUID()}`, Array.from({ length: BATCH_SIZE }, incidentOpened));
          return BATCH_SIZE;
        }),
      );
    }

    // Fill up to REPLAY_EVENTS with batch appends, then replay the whole log twice each way.
    const { rows } = await pool.query<{ n: string }>(`SELECT count(*) AS n FROM "${schema}".events`);
    let stored = Number(rows[0]?.n ?? 0);
    while (stored < REPLAY_EVENTS) {
      await Promise.all(
        Array.from({ length: BATCH_WRITERS }, () =>
          store.appendToStream(`incident-${randomUUID()}`, Array.from({ length: BATCH_SIZE * 5 }, incidentOpened)),
        ),
      );
      stored += BATCH_WRITERS * BATCH_SIZE * 5;
    }
    const replay: number[] = [];
    const replayRaw: number[] = [];
    let replayed = 0;
    for (let round = 0; round < ROUNDS; round++) {
      replayRaw.push(await rawCursorScan(pool, schema));
      const started = process.hrtime.bigint();
      let after;
      let count = 0;
      for (;;) {
        const page = await store.readAll({ after, limit: PAGE });
        if (page.events.length === 0) break;
        for (const event of page.events) noop(event);
        count += page.events.length;
        after = page.checkpoint;
      }
      replayed = count;
      replay.push(count / (Number(process.hrtime.bigint() - started) / 1e9));
    }

    const m = (xs: number[]) => median(xs);
    report(
      'store',
      {
        append_single_eps: { value: m(single), unit: 'events/s', note: `${SINGLE_WRITERS} writers, 1 event/tx, distinct streams` },
        append_single_baseline_eps: { value: m(singleRaw), unit: 'rows/s', note: 'raw single-row INSERT + commit, same concurrency' },
        append_single_ratio: { value: m(single) / m(singleRaw), unit: 'ratio', goal: '>= 0.6' },
        append_batch_eps: { value: m(batch), unit: 'events/s', goal: '>= 50,000', note: `${BATCH_WRITERS} writers, ${BATCH_SIZE} events/append` },
        append_batch_baseline_eps: { value: m(batchRaw), unit: 'rows/s', note: `raw ${BATCH_SIZE}-row INSERT, same concurrency` },
        append_batch_ratio: { value: m(batch) / m(batchRaw), unit: 'ratio', goal: '>= 0.4' },
        replay_eps: { value: m(replay), unit: 'events/s', goal: '>= 300,000', note: `readAll of ${replayed} events, pages of ${PAGE}` },
        replay_baseline_eps: { value: m(replayRaw), unit: 'rows/s', note: 'raw cursor SELECT, same driver' },
        replay_ratio: { value: m(replay) / m(replayRaw), unit: 'ratio', goal: '>= 0.5' },
      },
      { rounds: ROUNDS, samples: { single, singleRaw, batch, batchRaw, replay, replayRaw }, checksum: sink },
    );
  } finally {
    await store.close();
    await dropEventStore(pool, schema);
    await pool.end();
    await infrastructure.stop();
  }
}

let sink = 0;
function noop(event: { streamVersion: number }): void {
  sink ^= event.streamVersion;
}

async function rawCursorScan(pool: Pool, schema: string): Promise<number> {
  const client = await pool.connect();
  try {
    const started = process.hrtime.bigint();
    await client.query('BEGIN');
    await client.query(`DECLARE scan NO SCROLL CURSOR FOR SELECT event_id, type, schema_version, data, stream_id, stream_version,
      global_position, transaction_id, metadata, recorded_at, prev_hash, hash FROM "${schema}".events ORDER BY transaction_id, global_position`);
    let count = 0;
    for (;;) {
      const { rows } = await client.query(`FETCH ${PAGE} FROM scan`);
      if (rows.length === 0) break;
      for (const row of rows) sink ^= row.schema_version;
      count += rows.length;
    }
    await client.query('COMMIT');
    return count / (Number(process.hrtime.bigint() - started) / 1e9);
  } finally {
    client.release();
  }
}
