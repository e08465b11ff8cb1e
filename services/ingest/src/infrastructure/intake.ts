import { createHash } from 'node:crypto';
import { quoteSchema } from '@antibody/event-store';
import type { Pool } from 'pg';
import type { IntakeReport } from '../domain/report';
import { inTransaction } from './transaction';

/** One report to store durably, with the trace context of the request that brought it. */
export interface IntakeRow {
  readonly report: IntakeReport;
  readonly traceparent?: string;
  readonly tracestate?: string;
}

/** The store could not take the reports (Postgres down or failing): answer 503, acknowledge nothing. */
export class IntakeUnavailableError extends Error {
  override readonly name = 'IntakeUnavailableError';
  readonly code = 'INTAKE_UNAVAILABLE' as const;
}

/** Postgres allows 65,535 parameters per statement; 7 per row. */
const MAX_ROWS_PER_STATEMENT = 5000;
const COLUMNS = 7;
/**
 * Row counts of the prepared INSERTs; a batch is padded with NULL rows (which insert nothing) up to
 * the next one, so a connection prepares at most these few statements. Larger batches (one request
 * with thousands of reports) are sent unprepared.
 */
const PREPARED_ROW_COUNTS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512] as const;

/** A batch of reports the writer committed: how many rows, and how long its INSERT took until the commit. */
export interface CommittedBatch {
  readonly rows: number;
  readonly seconds: number;
}

interface Waiting {
  rows: readonly IntakeRow[];
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * Writes accepted reports to `ingest_intake` with group commit: requests that arrive while a write
 * is in flight are batched into the next INSERT, so throughput grows with load while each caller
 * still waits for its own rows to be committed (synchronous commit: durable once resolved).
 *
 * One write is in flight at a time unless a full batch is already waiting: each statement and
 * commit has a fixed cost in both processes, so a second concurrent write while the first is
 * running only halves the batches (measured: about 9 rows per INSERT with three writers at
 * saturation, 28 with one, and 9–18% less CPU per report in ingest and Postgres together). A
 * further write starts only when one writer cannot keep up, up to `maxConcurrentWrites`.
 *
 * Each INSERT is a prepared statement (see {@link preparedInsert}).
 *
 * Guarantees: {@link write} resolves only after the rows are committed; it rejects with
 * {@link IntakeUnavailableError} when they are not, in which case nothing of that call was stored
 * (a batch is one transaction). A report whose id is already stored (a client retry) is ignored.
 */
export class IntakeWriter {
  private queue: Waiting[] = [];
  /** Rows in `queue`. */
  private queuedRows = 0;
  private inFlight = 0;
  private readonly table: string;
  private readonly ids: string;
  /** Prepared statements by row count: name and text. */
  private readonly prepared = new Map<number, { name: string; text: string }>();
  private readonly listeners = new Set<(batch: CommittedBatch) => void>();

  constructor(
    private readonly pool: Pool,
    schema: string,
    private readonly maxBatchRows = 500,
    private readonly maxConcurrentWrites = 3,
  ) {
    this.table = `${quoteSchema(schema)}.ingest_intake`;
    this.ids = `${quoteSchema(schema)}.ingest_intake_ids`;
  }

  /** Called after each committed batch (the local processor wakes up on it; metrics observe it). */
  onCommitted(listener: (batch: CommittedBatch) => void): void {
    this.listeners.add(listener);
  }

  /** Stores `rows` durably; see the class guarantees. */
  write(rows: readonly IntakeRow[]): Promise<void> {
    if (rows.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ rows, resolve, reject });
      this.queuedRows += rows.length;
      this.pump();
    });
  }

  private pump(): void {
    while (this.queue.length > 0 && this.inFlight < this.maxConcurrentWrites && (this.inFlight === 0 || this.queuedRows >= this.maxBatchRows)) {
      const batch: Waiting[] = [];
      let count = 0;
      while (this.queue.length > 0 && (batch.length === 0 || count + this.queue[0]!.rows.length <= this.maxBatchRows)) {
        const next = this.queue.shift()!;
        batch.push(next);
        count += next.rows.length;
        this.queuedRows -= next.rows.length;
      }
      this.inFlight += 1;
      void this.flush(batch).finally(() => {
        this.inFlight -= 1;
        this.pump();
      });
    }
  }

  private async flush(batch: readonly Waiting[]): Promise<void> {
    // A batch may hold the same id twice (an envelope retried concurrently); ON CONFLICT cannot
    // touch one row twice in a statement, so keep the first.
    const seen = new Set<string>();
    const params: Array<string | null> = [];
    for (const waiting of batch) {
      for (const row of waiting.rows) {
        const { report } = row;
        if (seen.has(report.eventId)) continue;
        seen.add(report.eventId);
        // Stored as JSON text: JSON.stringify escapes NUL and lone surrogates, so any report is valid
        // text for Postgres; the processor parses it (and makes such strings safe for jsonb events).
        params.push(report.eventId, report.service, report.kind, JSON.stringify(report), row.traceparent ?? null, row.tracestate ?? null, report.receivedAt);
      }
    }
    const size = PREPARED_ROW_COUNTS.find((n) => n >= seen.size);
    const started = performance.now();
    try {
      if (size !== undefined) {
        const statement = this.preparedInsert(size);
        for (let padding = seen.size; padding < size; padding++) for (let c = 0; c < COLUMNS; c++) params.push(null);
        await this.pool.query({ name: statement.name, text: statement.text, values: params });
      } else if (seen.size <= MAX_ROWS_PER_STATEMENT) await this.pool.query(this.insert(seen.size), params);
      else await this.insertInChunks(params);
    } catch (error) {
      const failure = new IntakeUnavailableError(`could not store reports: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
      for (const waiting of batch) waiting.reject(failure);
      return;
    }
    for (const waiting of batch) waiting.resolve();
    const committed: CommittedBatch = { rows: seen.size, seconds: (performance.now() - started) / 1000 };
    for (const listener of this.listeners) listener(committed);
  }

  /** A batch over one statement's parameter limit (a huge OTLP export): several INSERTs, one transaction. */
  private async insertInChunks(params: ReadonlyArray<string | null>): Promise<void> {
    await inTransaction(this.pool, async (client) => {
      for (let start = 0; start < params.length; start += MAX_ROWS_PER_STATEMENT * COLUMNS) {
        const chunk = params.slice(start, start + MAX_ROWS_PER_STATEMENT * COLUMNS);
        await client.query(this.insert(chunk.length / COLUMNS), chunk);
      }
    });
  }

  /**
   * The prepared INSERT of `rows` rows. Prepared once per connection (its name is derived from its
   * text, so writers of different schemas never share one): planning this statement cost Postgres
   * about as much as executing it (measured: a 25-row INSERT and commit took a median 4.6 ms
   * unprepared and 3.7 ms prepared).
   */
  private preparedInsert(rows: number): { name: string; text: string } {
    let statement = this.prepared.get(rows);
    if (statement === undefined) {
      const text = this.insert(rows);
      statement = { name: `antibody_intake_${createHash('sha256').update(text).digest('hex').slice(0, 24)}`, text };
      this.prepared.set(rows, statement);
    }
    return statement;
  }

  /**
   * `INSERT … VALUES (…), (…)` for `rows` rows of 7 parameters: plain text parameters, so there is
   * no JSON or array literal to build in Node nor to parse in Postgres. The ids go to
   * `ingest_intake_ids` first: a report whose id is there (stored before, processed or not) is not
   * stored again. Rows whose id is NULL (the padding of a prepared statement) insert nothing.
   */
  private insert(rows: number): string {
    const values: string[] = [];
    for (let p = 0; p < rows * COLUMNS; p += COLUMNS) values.push(`($${p + 1}::uuid, $${p + 2}, $${p + 3}, $${p + 4}, $${p + 5}, $${p + 6}, $${p + 7}::timestamptz)`);
    return `WITH v (id, service, kind, body, traceparent, tracestate, received_at) AS (VALUES ${values.join(', ')}),
      fresh AS (INSERT INTO ${this.ids} (id, service, received_at) SELECT id, service, received_at FROM v WHERE id IS NOT NULL ON CONFLICT (id) DO NOTHING RETURNING id)
      INSERT INTO ${this.table} (id, service, kind, body, traceparent, tracestate, received_at)
      SELECT v.id, v.service, v.kind, v.body, v.traceparent, v.tracestate, v.received_at FROM v JOIN fresh ON fresh.id = v.id ON CONFLICT (id) DO NOTHING`;
  }
}
