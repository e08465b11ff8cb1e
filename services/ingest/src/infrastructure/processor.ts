import { randomUUID } from 'node:crypto';
import { context } from '@opentelemetry/api';
import { appendTraced, type Producer } from '@antibody/bus';
import { deterministicEventId, quoteSchema, Sleeper, type EventStore } from '@antibody/event-store';
import { contextFromCarrier } from '@antibody/telemetry';
import type { Pool, PoolClient } from 'pg';
import { computeGrouping } from '../domain/fingerprint';
import { addHistograms, type DurationHistogram } from '../domain/latency';
import { bucketStart, decideOccurrences, type FingerprintState, type IncidentEvent, type Occurrence } from '../domain/incident';
import type { ErrorReport, IntakeReport } from '../domain/report';
import { applySourceMaps } from '../domain/source-maps';
import type { Registry } from './registry';
import type { SourceMapStore } from './source-map-store';
import { inTransaction } from './transaction';

/** Settings of the {@link IntakeProcessor}. */
export interface ProcessorOptions {
  readonly schema: string;
  readonly producer: Producer;
  readonly samplesPerIncident: number;
  readonly bucketSeconds: number;
  /** Rows per transaction (default 500). */
  readonly batchSize?: number;
  /** Poll when not woken (default 250 ms). */
  readonly pollIntervalMs?: number;
  /**
   * After a batch that was not full, the next one starts at least this long after it started
   * (default 0: at once). Rows arriving meanwhile are taken together, so a steady flow is processed
   * in fewer, larger transactions (each has a fixed cost in both processes), at most this much later.
   */
  readonly minBatchIntervalMs?: number;
  /**
   * The intake is a queue: every report is inserted, processed and deleted within about a second.
   * After this many rows processed (and at most once a second), the processor vacuums it so that
   * their space is reused at once: autovacuum looks at a table once a minute at most, and the
   * intake meanwhile grows by the size of every report (docs/ingest.md). 0 leaves it to autovacuum.
   */
  readonly vacuumAfterRows: number;
  /** Processed intake rows are deleted after this many hours (they deduplicate client retries until then). */
  readonly keepProcessedHours: number;
  readonly onError?: (error: unknown, what: string) => void;
  /** Called after each committed batch with the number of reports processed. */
  readonly onProcessed?: (count: number) => void;
}

interface IntakeRecord {
  id: string;
  kind: IntakeReport['kind'];
  /** The report as stored (JSON text); parsed in {@link IntakeProcessor.apply}. */
  body: string;
  traceparent: string | null;
  tracestate: string | null;
}

interface ReleaseDelta {
  errors: number;
  requests: number;
  requestErrors: number;
  durationMsSum: number;
  durationHistogram: number[];
  sessionsOk: number;
  sessionsErrored: number;
  sessionsCrashed: number;
  sessionsAbnormal: number;
}

type ReleaseCounter = Exclude<keyof ReleaseDelta, 'durationHistogram'>;

/** The start of the time bucket of an ISO timestamp (memoised per batch: a request's reports share theirs). */
type BucketOf = (at: string) => string;

const zero = (): ReleaseDelta => ({ errors: 0, requests: 0, requestErrors: 0, durationMsSum: 0, durationHistogram: [], sessionsOk: 0, sessionsErrored: 0, sessionsCrashed: 0, sessionsAbnormal: 0 });

/**
 * Turns stored intake rows into incidents and counts. Every instance runs one; rows are claimed
 * with `FOR UPDATE SKIP LOCKED`, and a batch's effects (incident events appended in the same
 * transaction, fingerprint state, per-incident and per-release bucket counts, the rows marked
 * processed) commit together — so each accepted report is counted exactly once, however many
 * instances run and wherever one crashes. A batch that fails is retried row by row; a row that
 * fails on its own is marked with its failure (kept, not counted) and reported through `onError`.
 */
export class IntakeProcessor {
  private running = false;
  private loop: Promise<void> | undefined;
  /** Between polls: cut short by wake() and stop(). */
  private readonly poll = new Sleeper();
  /** While gathering the next batch: cut short only by stop(). */
  private readonly gathering = new Sleeper();
  private readonly s: string;
  private lastClose = 0;
  private lastPrune = 0;
  private lastVacuum = 0;
  private processedSinceVacuum = 0;

  constructor(
    private readonly pool: Pool,
    private readonly store: EventStore,
    private readonly registry: Registry,
    private readonly sourceMaps: SourceMapStore,
    private readonly options: ProcessorOptions,
  ) {
    this.s = quoteSchema(options.schema);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Finishes the batch in progress, then stops. */
  async stop(): Promise<void> {
    this.running = false;
    this.poll.wake();
    this.gathering.wake();
    await this.loop;
  }

  /** Processes new rows now instead of at the next poll. */
  wake(): void {
    this.poll.wake();
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (this.running) {
      let processed = 0;
      const batchStarted = Date.now();
      try {
        processed = await this.processBatch();
        this.processedSinceVacuum += processed;
        const { vacuumAfterRows } = this.options;
        if (vacuumAfterRows > 0 && this.processedSinceVacuum >= vacuumAfterRows && Date.now() - this.lastVacuum >= 1000) {
          this.lastVacuum = Date.now();
          this.processedSinceVacuum = 0;
          // A vacuum that fails is reported, not retried with the batches' back-off: autovacuum
          // still comes by, and the next one is due after as many rows again.
          await this.vacuumIntake().catch((error: unknown) => this.options.onError?.(error, 'vacuuming the intake'));
        }
        if (Date.now() - this.lastClose > Math.min(1000, (this.options.bucketSeconds * 1000) / 4)) {
          this.lastClose = Date.now();
          await this.closeBuckets();
        }
        if (Date.now() - this.lastPrune > 60_000) {
          this.lastPrune = Date.now();
          await this.pruneProcessed();
        }
        failures = 0;
      } catch (error) {
        failures += 1;
        this.options.onError?.(error, 'processing the intake');
      }
      // stop() during the batch: no sleep (it would delay the stop by a poll interval or back-off).
      if (!this.running) break;
      const gather = (this.options.minBatchIntervalMs ?? 0) - (Date.now() - batchStarted);
      if (processed > 0 && processed < (this.options.batchSize ?? 500) && failures === 0 && gather > 0) await this.gathering.sleep(gather);
      if (processed === 0 || failures > 0) {
        const delay = failures > 0 ? Math.min(5000, 250 * 2 ** Math.min(failures, 5)) : (this.options.pollIntervalMs ?? 250);
        await this.poll.sleep(delay);
      }
    }
  }

  /** Claims and processes up to one batch; returns how many rows it handled. */
  async processBatch(): Promise<number> {
    const rows = await inTransaction(this.pool, async (client) => {
      const claimed = await this.claim(client, this.options.batchSize ?? 500);
      if (claimed.length > 0) await this.apply(client, claimed);
      return claimed;
    }).catch(async (error: unknown) => {
      if (!isRowProblem(error)) throw error;
      return this.isolate(error);
    });
    if (rows.length > 0) this.options.onProcessed?.(rows.length);
    return rows.length;
  }

  /** After a failed batch: each pending row alone, so one bad row cannot block the others. */
  private async isolate(cause: unknown): Promise<IntakeRecord[]> {
    this.options.onError?.(cause, 'a batch failed; retrying its rows one by one');
    const done: IntakeRecord[] = [];
    for (let i = 0; i < (this.options.batchSize ?? 500); i++) {
      let claimedRow: IntakeRecord | undefined;
      try {
        const rows = await inTransaction(this.pool, async (client) => {
          const claimed = await this.claim(client, 1);
          claimedRow = claimed[0];
          if (claimed.length > 0) await this.apply(client, claimed);
          return claimed;
        });
        if (rows.length === 0) break;
        done.push(...rows);
      } catch (error) {
        if (!claimedRow || !isRowProblem(error)) throw error;
        this.options.onError?.(error, `report ${claimedRow.id} cannot be processed; it is kept with its failure`);
        await this.pool.query(`UPDATE ${this.s}.ingest_intake SET processed_at = now(), failure = $2 WHERE id = $1`, [
          claimedRow.id,
          error instanceof Error ? `${error.name}: ${error.message}`.slice(0, 2000) : String(error).slice(0, 2000),
        ]);
        done.push(claimedRow);
      }
    }
    return done;
  }

  private async claim(client: PoolClient, limit: number): Promise<IntakeRecord[]> {
    const result = await client.query<{ id: string; kind: IntakeReport['kind']; body: string; traceparent: string | null; tracestate: string | null }>(
      `SELECT id, kind, coalesce(body, payload::text) AS body, traceparent, tracestate FROM ${this.s}.ingest_intake
       WHERE processed_at IS NULL ORDER BY received_at LIMIT $1 FOR UPDATE SKIP LOCKED`,
      [limit],
    );
    return result.rows;
  }

  private async apply(client: PoolClient, rows: readonly IntakeRecord[]): Promise<void> {
    const releases = new Map<string, ReleaseDelta>();
    // Reports of one request share their receivedAt: each distinct one is bucketed once per batch.
    const buckets = new Map<string, string>();
    const bucketOf: BucketOf = (at) => {
      let bucket = buckets.get(at);
      if (bucket === undefined) buckets.set(at, (bucket = bucketStart(at, this.options.bucketSeconds)));
      return bucket;
    };
    const addRelease = (
      service: string,
      release: string | undefined,
      environment: string | undefined,
      at: string,
      delta: Partial<Record<ReleaseCounter, number>>,
      histogram?: DurationHistogram,
    ): void => {
      const key = JSON.stringify([service, release ?? '', environment ?? '', bucketOf(at)]);
      const current = releases.get(key) ?? zero();
      for (const [field, value] of Object.entries(delta) as Array<[ReleaseCounter, number]>) current[field] += value;
      if (histogram && histogram.length > 0) current.durationHistogram = addHistograms(current.durationHistogram, histogram);
      releases.set(key, current);
    };
    const drops = new Map<string, number>();
    const groups = new Map<string, Array<Occurrence & { row: IntakeRecord }>>();

    for (const row of rows) {
      // Parsed here and let go at the end of the iteration: only what counting needs stays alive
      // while the batch's statements run (an error's full report is parsed again if it is sampled).
      const report = parseReport(row.body);
      switch (report.kind) {
        case 'error': {
          const occurrence = this.occurrence(report, row.body);
          const key = JSON.stringify([report.service, occurrence.grouping.fingerprint]);
          const list = groups.get(key) ?? [];
          list.push({ ...occurrence, row });
          groups.set(key, list);
          addRelease(report.service, report.release, report.environment, report.receivedAt, { errors: 1 });
          break;
        }
        case 'session':
          addRelease(report.service, report.release, report.environment, report.receivedAt, {
            sessionsOk: report.ok,
            sessionsErrored: report.errored,
            sessionsCrashed: report.crashed,
            sessionsAbnormal: report.abnormal,
          });
          break;
        case 'requests':
          addRelease(
            report.service,
            report.release,
            report.environment,
            report.receivedAt,
            { requests: report.count, requestErrors: report.errors, durationMsSum: report.durationMsSum },
            report.durationHistogram,
          );
          break;
        case 'client_report':
          for (const d of report.discarded) {
            const key = JSON.stringify([report.service, d.reason, d.category, bucketOf(report.receivedAt)]);
            drops.set(key, (drops.get(key) ?? 0) + d.quantity);
          }
          break;
        default: {
          const unknown: never = report;
          throw new RowProblem(`unknown intake kind ${JSON.stringify((unknown as { kind?: unknown }).kind)}`);
        }
      }
    }

    // A fixed order of locks (fingerprints, then counters, each sorted) keeps concurrent instances
    // deadlock-free. Each table gets one statement per batch, whatever the number of fingerprints.
    await this.applyGroups(client, [...groups.keys()].sort().map((key) => groups.get(key)!), bucketOf);
    const releaseKeys = [...releases.keys()].sort();
    if (releaseKeys.length > 0) {
      const columns: unknown[][] = Array.from({ length: 14 }, () => []);
      for (const key of releaseKeys) {
        const [service, release, environment, bucket] = JSON.parse(key) as [string, string, string, string];
        const d = releases.get(key)!;
        const values = [service, release, environment, bucket, this.options.bucketSeconds, d.errors, d.requests, d.requestErrors, d.durationMsSum,
          d.sessionsOk, d.sessionsErrored, d.sessionsCrashed, d.sessionsAbnormal, `{${d.durationHistogram.join(',')}}`];
        values.forEach((value, i) => columns[i]!.push(value));
      }
      await client.query(
        `INSERT INTO ${this.s}.ingest_release_counts AS c (service, release, environment, bucket_start, bucket_seconds, errors, requests, request_errors,
           request_duration_ms_sum, sessions_ok, sessions_errored, sessions_crashed, sessions_abnormal, request_duration_histogram)
         SELECT service, release, environment, bucket_start, bucket_seconds, errors, requests, request_errors, request_duration_ms_sum,
           sessions_ok, sessions_errored, sessions_crashed, sessions_abnormal, histogram::bigint[]
         FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::int[], $6::bigint[], $7::bigint[], $8::bigint[], $9::float8[],
           $10::bigint[], $11::bigint[], $12::bigint[], $13::bigint[], $14::text[])
           AS x(service, release, environment, bucket_start, bucket_seconds, errors, requests, request_errors, request_duration_ms_sum,
             sessions_ok, sessions_errored, sessions_crashed, sessions_abnormal, histogram)
         ON CONFLICT (service, release, environment, bucket_start) DO UPDATE SET
           errors = c.errors + EXCLUDED.errors, requests = c.requests + EXCLUDED.requests, request_errors = c.request_errors + EXCLUDED.request_errors,
           request_duration_ms_sum = c.request_duration_ms_sum + EXCLUDED.request_duration_ms_sum,
           request_duration_histogram = coalesce((SELECT array_agg(coalesce(u.a, 0) + coalesce(u.b, 0) ORDER BY u.i)
             FROM unnest(c.request_duration_histogram, EXCLUDED.request_duration_histogram) WITH ORDINALITY AS u(a, b, i)), '{}'),
           sessions_ok = c.sessions_ok + EXCLUDED.sessions_ok,
           sessions_errored = c.sessions_errored + EXCLUDED.sessions_errored, sessions_crashed = c.sessions_crashed + EXCLUDED.sessions_crashed,
           sessions_abnormal = c.sessions_abnormal + EXCLUDED.sessions_abnormal`,
        columns,
      );
    }
    for (const key of [...drops.keys()].sort()) {
      const [service, reason, category, bucket] = JSON.parse(key) as [string, string, string, string];
      await client.query(
        `INSERT INTO ${this.s}.ingest_client_drops AS d (service, reason, category, bucket_start, quantity) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (service, reason, category, bucket_start) DO UPDATE SET quantity = d.quantity + EXCLUDED.quantity`,
        [service, reason, category, bucket, drops.get(key)],
      );
    }
    // Processed rows are deleted (their ids stay in ingest_intake_ids for retry deduplication): a
    // delete only stamps the row, where an update wrote it anew with its index entries.
    await client.query(`DELETE FROM ${this.s}.ingest_intake WHERE id = ANY($1::uuid[])`, [rows.map((r) => r.id)]);
  }

  /**
   * The occurrence of `report` (parsed from `body`): grouped on its source-mapped frames, with a
   * summary for counting; the full mapped report is made again from `body` only when it is asked
   * for (a sample). Keeping every parsed report of a batch alive across its statements made each
   * young-generation collection of the thread copy them all: about 30 ms per collection at full
   * load, about an eighth of the thread's CPU (docs/BENCHMARKS.md).
   */
  private occurrence(report: ErrorReport, body: string): Occurrence {
    const lookup = this.sourceMaps.lookupFor(this.registry.service(report.service));
    const grouping = computeGrouping({
      exceptionType: report.exception.type,
      message: report.exception.value,
      frames: applySourceMaps(report.frames, lookup),
      ...(report.clientFingerprint ? { clientFingerprint: report.clientFingerprint } : {}),
    });
    const { service, exception, release, environment, receivedAt } = report;
    const summary = { service, exception: { type: exception.type, value: exception.value }, receivedAt, ...(release ? { release } : {}), ...(environment ? { environment } : {}) };
    let full: ErrorReport | undefined;
    const fullReport = (): ErrorReport => {
      if (full === undefined) {
        const again = parseReport(body) as ErrorReport;
        full = { ...again, frames: applySourceMaps(again.frames, lookup) };
      }
      return full;
    };
    return { summary, grouping, report: fullReport };
  }

  /**
   * The error occurrences of a batch, grouped by (service, fingerprint) and sorted: fingerprints are
   * created or locked, the incident decisions made and their events appended, then fingerprint
   * state and per-incident bucket counts written — one statement per step for all groups.
   */
  private async applyGroups(client: PoolClient, groups: ReadonlyArray<ReadonlyArray<Occurrence & { row: IntakeRecord }>>, bucketOf: BucketOf): Promise<void> {
    if (groups.length === 0) return;
    const services = groups.map((g) => g[0]!.summary.service);
    const fingerprints = groups.map((g) => g[0]!.grouping.fingerprint);
    const newIds = groups.map(() => randomUUID());
    // New fingerprints are inserted (locked by the insert); known ones are then locked, in key order.
    const inserted = await client.query<{ service: string; fingerprint: string }>(
      `INSERT INTO ${this.s}.ingest_fingerprints (service, fingerprint, incident_id, status, samples, basis, first_seen, last_seen)
       SELECT service, fingerprint, incident_id, 'open', 0, basis, seen, seen
       FROM unnest($1::text[], $2::text[], $3::uuid[], $4::text[], $5::timestamptz[]) WITH ORDINALITY AS x(service, fingerprint, incident_id, basis, seen, n)
       ORDER BY n
       ON CONFLICT (service, fingerprint) DO NOTHING RETURNING service, fingerprint`,
      [services, fingerprints, newIds, groups.map((g) => g[0]!.grouping.basis), groups.map((g) => g[0]!.summary.receivedAt)],
    );
    const key = (service: string, fingerprint: string) => `${service}\u0000${fingerprint}`;
    const isNew = new Set(inserted.rows.map((r) => key(r.service, r.fingerprint)));
    const known = groups.map((_, i) => i).filter((i) => !isNew.has(key(services[i]!, fingerprints[i]!)));
    const states = new Map<string, FingerprintState>();
    if (known.length > 0) {
      const locked = await client.query<{ service: string; fingerprint: string; incident_id: string; status: 'open' | 'resolved'; samples: number }>(
        `SELECT f.service, f.fingerprint, f.incident_id, f.status, f.samples FROM ${this.s}.ingest_fingerprints f
         JOIN unnest($1::text[], $2::text[]) AS x(service, fingerprint) ON f.service = x.service AND f.fingerprint = x.fingerprint
         ORDER BY f.service, f.fingerprint FOR UPDATE OF f`,
        [known.map((i) => services[i]), known.map((i) => fingerprints[i])],
      );
      for (const row of locked.rows) states.set(key(row.service, row.fingerprint), { incidentId: row.incident_id, status: row.status, samples: row.samples });
      const missing = known.find((i) => !states.has(key(services[i]!, fingerprints[i]!)));
      if (missing !== undefined) throw new Error(`fingerprint ${fingerprints[missing]} of ${services[missing]} vanished while locked`);
    }

    const updates: Array<{ service: string; fingerprint: string; status: string; samples: number; last: string; occurrences: number }> = [];
    const counts = new Map<string, number>();
    for (let g = 0; g < groups.length; g++) {
      const occurrences = groups[g]!;
      const state = states.get(key(services[g]!, fingerprints[g]!));
      const decision = decideOccurrences(state, occurrences, { samplesPerIncident: this.options.samplesPerIncident, newIncidentId: newIds[g]! });
      await this.appendDecision(client, decision);
      updates.push({
        service: services[g]!,
        fingerprint: fingerprints[g]!,
        status: decision.next.status,
        samples: decision.next.samples,
        last: occurrences.reduce((latest, o) => (o.summary.receivedAt > latest ? o.summary.receivedAt : latest), occurrences[0]!.summary.receivedAt),
        occurrences: occurrences.length,
      });
      for (const o of occurrences) {
        const bucketKey = JSON.stringify([decision.incidentId, bucketOf(o.summary.receivedAt)]);
        counts.set(bucketKey, (counts.get(bucketKey) ?? 0) + 1);
      }
    }

    await client.query(
      `UPDATE ${this.s}.ingest_fingerprints f SET status = x.status, samples = x.samples, last_seen = GREATEST(f.last_seen, x.last), occurrences = f.occurrences + x.occurrences
       FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::timestamptz[], $6::bigint[]) AS x(service, fingerprint, status, samples, last, occurrences)
       WHERE f.service = x.service AND f.fingerprint = x.fingerprint`,
      [updates.map((u) => u.service), updates.map((u) => u.fingerprint), updates.map((u) => u.status), updates.map((u) => u.samples), updates.map((u) => u.last), updates.map((u) => u.occurrences)],
    );
    const countKeys = [...counts.keys()].sort();
    const parsed = countKeys.map((k) => JSON.parse(k) as [string, string]);
    await client.query(
      `INSERT INTO ${this.s}.ingest_incident_counts AS c (incident_id, bucket_start, bucket_seconds, count)
       SELECT incident_id, bucket_start, $3, count FROM unnest($1::uuid[], $2::timestamptz[], $4::bigint[]) WITH ORDINALITY AS x(incident_id, bucket_start, count, n)
       ORDER BY n
       ON CONFLICT (incident_id, bucket_start) DO UPDATE SET count = c.count + EXCLUDED.count`,
      [parsed.map((p) => p[0]), parsed.map((p) => p[1]), this.options.bucketSeconds, countKeys.map((k) => counts.get(k))],
    );
  }

  /** Appends a decision's events; those of one occurrence together, under the trace of the request that brought it. */
  private async appendDecision(client: PoolClient, decision: ReturnType<typeof decideOccurrences>): Promise<void> {
    const streamId = `incident-${decision.incidentId}`;
    let index = 0;
    while (index < decision.events.length) {
      const occurrence = decision.events[index]!.occurrence as Occurrence & { row: IntakeRecord };
      const batch: Array<IncidentEvent['event']> = [];
      while (index < decision.events.length && decision.events[index]!.occurrence === occurrence) batch.push(decision.events[index++]!.event);
      const opening = batch[0]?.type === 'IncidentOpened';
      const carrier = occurrence.row.traceparent ? { traceparent: occurrence.row.traceparent, ...(occurrence.row.tracestate ? { tracestate: occurrence.row.tracestate } : {}) } : undefined;
      await context.with(contextFromCarrier(carrier), () =>
        appendTraced(this.store, streamId, batch, {
          producer: this.options.producer,
          correlationId: decision.incidentId,
          causationId: null,
          eventIds: batch.map((_, i) => deterministicEventId(occurrence.row.id, 'ingest', i)),
          expectedVersion: opening ? 'no-stream' : 'any',
          client,
        }),
      );
    }
  }

  /**
   * Appends `OccurrencesCounted` for closed buckets whose count is not yet fully reported: the
   * delta since the last report, with an id derived from (incident, bucket, count already
   * reported), so a retry or a second instance can never report the same occurrences twice.
   */
  async closeBuckets(now: Date = new Date()): Promise<number> {
    return inTransaction(this.pool, async (client) => {
      const due = await client.query<{ incident_id: string; bucket_start: Date; bucket_seconds: number; count: string; emitted_count: string }>(
        `SELECT incident_id, bucket_start, bucket_seconds, count, emitted_count FROM ${this.s}.ingest_incident_counts
         WHERE count > emitted_count AND bucket_start + make_interval(secs => bucket_seconds) <= $1
         ORDER BY incident_id, bucket_start LIMIT 500 FOR UPDATE SKIP LOCKED`,
        [now.toISOString()],
      );
      for (const row of due.rows) {
        const delta = Number(row.count) - Number(row.emitted_count);
        const bucket = row.bucket_start.toISOString();
        await appendTraced(
          this.store,
          `incident-${row.incident_id}`,
          [{ type: 'OccurrencesCounted', data: { bucketStart: bucket, bucketSeconds: row.bucket_seconds, count: delta } }],
          {
            producer: this.options.producer,
            correlationId: row.incident_id,
            causationId: null,
            eventIds: [deterministicEventId(`${row.incident_id}|${bucket}`, 'ingest-occurrences', Number(row.emitted_count))],
            expectedVersion: 'any',
            client,
          },
        );
        await client.query(`UPDATE ${this.s}.ingest_incident_counts SET emitted_count = $3 WHERE incident_id = $1 AND bucket_start = $2`, [
          row.incident_id,
          row.bucket_start,
          row.count,
        ]);
      }
      return due.rows.length;
    });
  }

  /**
   * Makes the space of deleted intake rows reusable. SKIP_LOCKED: another instance's vacuum of the
   * table already does it. TRUNCATE false: giving trailing pages back to the file system takes a
   * lock that would hold up the intake's inserts, and they are about to be needed again.
   */
  private async vacuumIntake(): Promise<void> {
    await this.pool.query(`VACUUM (SKIP_LOCKED, TRUNCATE false) ${this.s}.ingest_intake`);
  }

  /**
   * Forgets report ids, and deletes rows kept with their failure (or processed by an earlier
   * version, which kept processed rows), older than `keepProcessedHours`: at most 50,000 ids and
   * 5,000 rows per call.
   */
  async pruneProcessed(): Promise<number> {
    const ids = await this.pool.query(
      `DELETE FROM ${this.s}.ingest_intake_ids WHERE id IN (
         SELECT id FROM ${this.s}.ingest_intake_ids WHERE received_at < now() - make_interval(hours => $1) LIMIT 50000)`,
      [this.options.keepProcessedHours],
    );
    const rows = await this.pool.query(
      `DELETE FROM ${this.s}.ingest_intake WHERE id IN (
         SELECT id FROM ${this.s}.ingest_intake WHERE processed_at < now() - make_interval(hours => $1) LIMIT 5000)`,
      [this.options.keepProcessedHours],
    );
    return (ids.rowCount ?? 0) + (rows.rowCount ?? 0);
  }
}

// JSON escapes of NUL and of UTF-16 surrogates (a lone one is not valid in jsonb text).
const UNSAFE_ESCAPE = /\\u(?:0000|[dD][89a-fA-F])/;

/**
 * Parses a stored report. Strings with NUL characters or lone surrogates (valid in the stored JSON
 * text, refused by jsonb, which incident events are stored as) are made safe, in values and keys:
 * NUL becomes U+FFFD and lone surrogates are replaced as `toWellFormed` does. Untrusted strings are
 * made safe, not rejected.
 */
function parseReport(body: string): IntakeReport {
  const parsed = JSON.parse(body) as IntakeReport;
  // A plain scan first: almost no report holds an escape at all.
  return body.includes('\\u') && UNSAFE_ESCAPE.test(body) ? (jsonbSafe(parsed) as IntakeReport) : parsed;
}

function jsonbSafe(value: unknown): unknown {
  if (typeof value === 'string') {
    const wellFormed = (value as string & { toWellFormed(): string }).toWellFormed();
    return wellFormed.includes('\u0000') ? wellFormed.replaceAll('\u0000', '\uFFFD') : wellFormed;
  }
  if (Array.isArray(value)) return value.map(jsonbSafe);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) out[jsonbSafe(key) as string] = jsonbSafe(v);
  return out;
}

/** A failure caused by a row's content (not by Postgres being away): isolate the row. */
class RowProblem extends Error {
  override readonly name = 'RowProblem';
}

const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', '57P01', '57P02', '57P03', '08000', '08003', '08006', '08001', '08004']);

function isRowProblem(error: unknown): boolean {
  if (error instanceof RowProblem) return true;
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string' && CONNECTION_CODES.has(code)) return false;
  if (error instanceof Error && /connect|terminat|Connection/i.test(error.message)) return false;
  // Serialization failures and deadlocks are transient: retried by the loop with the whole batch.
  if (code === '40001' || code === '40P01') return false;
  return true;
}
