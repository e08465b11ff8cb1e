import { quoteSchema } from '@antibody/event-store';
import type { Pool } from 'pg';
import type { IntakeReport } from '../domain/report';

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
 * Guarantees: {@link write} resolves only after the rows are committed; it rejects with
 * {@link IntakeUnavailableError} when they are not, in which case nothing of that call was stored
 * (a batch is one transaction). A report whose id is already stored (a client retry) is ignored.
 */
export class IntakeWriter {
  private queue: Waiting[] = [];
  private inFlight = 0;
  private readonly sql: string;
  private readonly listeners = new Set<() => void>();

  constructor(
    private readonly pool: Pool,
    schema: string,
    private readonly maxBatchRows = 500,
    private readonly maxConcurrentWrites = 3,
  ) {
    const s = quoteSchema(schema);
    this.sql = `INSERT INTO ${s}.ingest_intake (id, service, kind, payload, traceparent, tracestate, received_at)
      SELECT x.id, x.service, x.kind, x.payload, x.traceparent, x.tracestate, x.received_at
      FROM jsonb_to_recordset($1::jsonb) AS x(id uuid, service text, kind text, payload jsonb, traceparent text, tracestate text, received_at timestamptz)
      ON CONFLICT (id) DO NOTHING`;
  }

  /** Called after each committed batch (the local processor wakes up on it). */
  onCommitted(listener: () => void): void {
    this.listeners.add(listener);
  }

  /** Stores `rows` durably; see the class guarantees. */
  write(rows: readonly IntakeRow[]): Promise<void> {
    if (rows.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ rows, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.queue.length > 0 && this.inFlight < this.maxConcurrentWrites) {
      const batch: Waiting[] = [];
      let count = 0;
      while (this.queue.length > 0 && (batch.length === 0 || count + this.queue[0]!.rows.length <= this.maxBatchRows)) {
        const next = this.queue.shift()!;
        batch.push(next);
        count += next.rows.length;
      }
      this.inFlight += 1;
      void this.flush(batch).finally(() => {
        this.inFlight -= 1;
        this.pump();
      });
    }
  }

  private async flush(batch: readonly Waiting[]): Promise<void> {
    const records = batch.flatMap((waiting) =>
      waiting.rows.map((row) => ({
        id: row.report.eventId,
        service: row.report.service,
        kind: row.report.kind,
        payload: row.report,
        traceparent: row.traceparent ?? null,
        tracestate: row.tracestate ?? null,
        received_at: row.report.receivedAt,
      })),
    );
    // A batch may hold the same id twice (an envelope retried concurrently); ON CONFLICT cannot
    // touch one row twice in a statement, so keep the first.
    const seen = new Set<string>();
    const unique = records.filter((r) => (seen.has(r.id) ? false : (seen.add(r.id), true)));
    try {
      await this.pool.query(this.sql, [JSON.stringify(unique, postgresSafe)]);
    } catch (error) {
      const failure = new IntakeUnavailableError(`could not store reports: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
      for (const waiting of batch) waiting.reject(failure);
      return;
    }
    for (const waiting of batch) waiting.resolve();
    for (const listener of this.listeners) listener();
  }
}

/** jsonb refuses NUL characters and lone surrogates; untrusted strings are made safe, not rejected. */
function postgresSafe(_key: string, value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const wellFormed = (value as string & { toWellFormed(): string }).toWellFormed();
  return wellFormed.includes('\u0000') ? wellFormed.replaceAll('\u0000', '\uFFFD') : wellFormed;
}
