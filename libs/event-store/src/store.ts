import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { categoryOf, eventMetadataSchema, eventCatalog } from '@antibody/contracts';
import {
  EventIdReusedError,
  InvalidEventError,
  StreamNotFoundError,
  WrongExpectedVersionError,
} from './errors';
import { contentHash } from './hashing';
import { quoteSchema } from './identifiers';
import { AppendNotifier } from './notifier';
import type {
  AppendResult,
  Checkpoint,
  EventValidator,
  ExpectedVersion,
  NewEvent,
  ReadAllOptions,
  ReadAllResult,
  ReadStreamOptions,
  ReadStreamResult,
  StoredEvent,
  StreamVerification,
} from './types';
import { START } from './types';
import { ChainVerifier, verifyChain } from './verify';

/** Options of {@link createEventStore}. */
export interface EventStoreOptions {
  /** A pg pool the caller owns (the store never ends it). */
  readonly pool: Pool;
  /** Schema holding the store; created by `migrateEventStore`. Default `antibody`. */
  readonly schema?: string;
  /** Validates event data at append. Default: the Antibody event catalog. */
  readonly validator?: EventValidator;
}

/** Summary of `verifyAll`. */
export interface StoreVerification {
  readonly streams: number;
  readonly events: number;
  readonly breaches: readonly StreamVerification[];
}

/** The Postgres event store: the source of truth and the outbox of the bus. */
export interface EventStore {
  readonly schema: string;
  readonly pool: Pool;
  /**
   * Appends events to one stream atomically. Throws WrongExpectedVersionError, InvalidEventError
   * or EventIdReusedError and then writes nothing. Re-appending a batch whose ids are all stored
   * returns the original positions with `duplicate: true`.
   */
  appendToStream(streamId: string, events: readonly NewEvent[], options?: { expectedVersion?: ExpectedVersion }): Promise<AppendResult>;
  /** Reads a stream in version order; `exists: false` and no events when it does not exist. */
  readStream(streamId: string, options?: ReadStreamOptions): Promise<ReadStreamResult>;
  /** Reads the global log after a checkpoint, gap-safe: never returns an event before one that may still commit. */
  readAll(options?: ReadAllOptions): Promise<ReadAllResult>;
  /** The checkpoint after the last event that is safely readable now. */
  headCheckpoint(): Promise<Checkpoint>;
  /** Verifies one stream's hash chain. Throws StreamNotFoundError for an unknown stream. */
  verifyStream(streamId: string): Promise<StreamVerification>;
  /** Verifies every stream in one ordered scan. */
  verifyAll(): Promise<StoreVerification>;
  /** Calls `listener` soon after events are appended (this process at once, others via NOTIFY). */
  onAppended(listener: () => void): () => void;
  /** Stops the LISTEN connection; the pool stays open. */
  close(): Promise<void>;
}

/** Creates an {@link EventStore} over a pool. Call `migrateEventStore` once before. */
export function createEventStore(options: EventStoreOptions): EventStore {
  return new PostgresEventStore(options.pool, options.schema ?? 'antibody', options.validator ?? catalogValidator);
}

const catalogValidator: EventValidator = {
  validate: (type, schemaVersion, data) => eventCatalog.validate(type, schemaVersion, data),
  currentVersion: (type) => eventCatalog.definition(type)?.schemaVersion,
};

const EVENT_COLUMNS = `event_id, type, schema_version, data, stream_id, stream_version, global_position,
  transaction_id, metadata, recorded_at, prev_hash, hash`;

interface EventRow {
  event_id: string;
  type: string;
  schema_version: number;
  data: unknown;
  stream_id: string;
  stream_version: string;
  global_position: string;
  transaction_id: string;
  metadata: StoredEvent['metadata'];
  recorded_at: Date;
  prev_hash: string;
  hash: string;
}

function toStoredEvent(row: EventRow): StoredEvent {
  return {
    eventId: row.event_id,
    type: row.type,
    schemaVersion: row.schema_version,
    data: row.data,
    streamId: row.stream_id,
    streamVersion: Number(row.stream_version),
    globalPosition: row.global_position,
    transactionId: row.transaction_id,
    metadata: row.metadata,
    recordedAt: row.recorded_at.toISOString(),
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}

const PG_WRONG_VERSION = 'AB001';
const PG_ID_REUSED = 'AB002';

class PostgresEventStore implements EventStore {
  private readonly s: string;
  private readonly notifier: AppendNotifier;
  private readonly sql: {
    append: string;
    readStream: string;
    streamHead: string;
    readAll: string;
    head: string;
  };

  constructor(
    readonly pool: Pool,
    readonly schema: string,
    private readonly validator: EventValidator,
  ) {
    this.s = quoteSchema(schema);
    this.notifier = new AppendNotifier(pool, `antibody_events_${schema}`);
    const s = this.s;
    this.sql = {
      append: `SELECT next_version, positions, duplicate FROM ${s}.append_to_stream($1, $2, $3, $4, $5)`,
      readStream: `SELECT ${EVENT_COLUMNS} FROM ${s}.events WHERE stream_id = $1 AND stream_version BETWEEN $2 AND $3 ORDER BY stream_version`,
      streamHead: `SELECT version, last_hash FROM ${s}.streams WHERE stream_id = $1`,
      readAll: `SELECT ${EVENT_COLUMNS} FROM ${s}.events
        WHERE (transaction_id, global_position) > ($1::xid8, $2::bigint)
          AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())
        ORDER BY transaction_id, global_position LIMIT $3`,
      head: `SELECT transaction_id, global_position FROM ${s}.events
        WHERE transaction_id < pg_snapshot_xmin(pg_current_snapshot())
        ORDER BY transaction_id DESC, global_position DESC LIMIT 1`,
    };
  }

  async appendToStream(
    streamId: string,
    events: readonly NewEvent[],
    options: { expectedVersion?: ExpectedVersion } = {},
  ): Promise<AppendResult> {
    if (typeof streamId !== 'string' || streamId.length === 0 || streamId.length > 200) {
      throw new InvalidEventError('(any)', 'streamId', 'streamId must be a non-empty string of at most 200 characters');
    }
    if (events.length === 0) throw new InvalidEventError('(any)', 'events', 'append needs at least one event');
    const expected = options.expectedVersion ?? 'any';
    const recordedAt = new Date().toISOString();
    const payload = events.map((event) => this.prepare(streamId, event, recordedAt));
    let result;
    try {
      result = await this.pool.query<{ next_version: string; positions: string[]; duplicate: boolean }>({
        name: `antibody-append-${this.schema}`,
        text: this.sql.append,
        values: [streamId, categoryOf(streamId), expectedToSql(expected), JSON.stringify(payload), recordedAt],
      });
    } catch (error) {
      throw this.translateAppendError(error, streamId, expected);
    }
    const row = result.rows[0];
    if (!row) throw new Error('append_to_stream returned no row');
    if (!row.duplicate) this.notifier.appended();
    return {
      streamId,
      nextExpectedVersion: Number(row.next_version),
      positions: row.positions.map(String),
      duplicate: row.duplicate,
    };
  }

  private prepare(streamId: string, event: NewEvent, recordedAt: string) {
    const type = event.type;
    if (typeof type !== 'string' || !/^[A-Z][A-Za-z0-9]*$/.test(type)) {
      throw new InvalidEventError(String(type), 'type', 'type must be a PascalCase name');
    }
    const schemaVersion = event.schemaVersion ?? this.validator.currentVersion(type) ?? 1;
    const verdict = this.validator.validate(type, schemaVersion, event.data);
    if (!verdict.ok) throw new InvalidEventError(type, verdict.path, verdict.message);
    const metadata = eventMetadataSchema.safeParse(event.metadata);
    if (!metadata.success) {
      const issue = metadata.error.issues[0];
      const path = ['metadata', ...(issue?.path ?? []).map(String)].join('.');
      throw new InvalidEventError(type, path, `${path}: ${issue?.message ?? 'invalid'}`);
    }
    const eventId = event.eventId ?? randomUUID();
    if (!UUID.test(eventId)) throw new InvalidEventError(type, 'eventId', `eventId must be a uuid (got "${eventId}")`);
    const content = { eventId, streamId, type, schemaVersion, data: event.data, metadata: metadata.data, recordedAt };
    return { id: eventId, type, sv: schemaVersion, data: event.data, metadata: metadata.data, ch: contentHash(content) };
  }

  private translateAppendError(error: unknown, streamId: string, expected: ExpectedVersion): unknown {
    const pgError = error as { code?: string; detail?: string };
    if (pgError.code === PG_WRONG_VERSION) {
      return new WrongExpectedVersionError(streamId, expected, Number(pgError.detail));
    }
    if (pgError.code === PG_ID_REUSED) return new EventIdReusedError(streamId, pgError.detail ?? 'event ids reused');
    return error;
  }

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<ReadStreamResult> {
    const head = await this.pool.query<{ version: string }>(this.sql.streamHead, [streamId]);
    const headRow = head.rows[0];
    if (!headRow || Number(headRow.version) < 0) return { exists: false, currentVersion: -1, events: [] };
    const currentVersion = Number(headRow.version);
    const from = options.fromVersion ?? 0;
    const to = Math.min(options.toVersion ?? currentVersion, currentVersion);
    const rows = await this.pool.query<EventRow>({
      name: `antibody-read-stream-${this.schema}`,
      text: this.sql.readStream,
      values: [streamId, from, to],
    });
    return { exists: true, currentVersion, events: rows.rows.map(toStoredEvent) };
  }

  async readAll(options: ReadAllOptions = {}): Promise<ReadAllResult> {
    const after = options.after ?? START;
    const limit = options.limit ?? 1000;
    const rows = await this.pool.query<EventRow>({
      name: `antibody-read-all-${this.schema}`,
      text: this.sql.readAll,
      values: [after.transactionId, after.position, limit],
    });
    const events = rows.rows.map(toStoredEvent);
    const last = events[events.length - 1];
    return { events, checkpoint: last ? { transactionId: last.transactionId, position: last.globalPosition } : after };
  }

  async headCheckpoint(): Promise<Checkpoint> {
    const rows = await this.pool.query<{ transaction_id: string; global_position: string }>(this.sql.head);
    const row = rows.rows[0];
    return row ? { transactionId: row.transaction_id, position: row.global_position } : START;
  }

  async verifyStream(streamId: string): Promise<StreamVerification> {
    const head = await this.pool.query<{ version: string; last_hash: string }>(this.sql.streamHead, [streamId]);
    const rows = await this.pool.query<EventRow>(
      `SELECT ${EVENT_COLUMNS} FROM ${this.s}.events WHERE stream_id = $1 ORDER BY stream_version`,
      [streamId],
    );
    const headRow = head.rows[0];
    if (!headRow && rows.rows.length === 0) throw new StreamNotFoundError(streamId);
    return verifyChain(
      streamId,
      rows.rows.map(toStoredEvent),
      headRow ? { version: Number(headRow.version), lastHash: headRow.last_hash } : undefined,
    );
  }

  async verifyAll(): Promise<StoreVerification> {
    const heads = new Map<string, { version: number; lastHash: string }>();
    const headRows = await this.pool.query<{ stream_id: string; version: string; last_hash: string }>(
      `SELECT stream_id, version, last_hash FROM ${this.s}.streams`,
    );
    for (const row of headRows.rows) heads.set(row.stream_id, { version: Number(row.version), lastHash: row.last_hash });

    const breaches: StreamVerification[] = [];
    let streams = 0;
    let events = 0;
    let current: { verifier: ChainVerifier; breach?: StreamVerification } | undefined;
    const finish = () => {
      if (!current) return;
      streams += 1;
      const { verifier } = current;
      if (!current.breach) {
        const breach = verifier.end(heads.get(verifier.streamId));
        if (breach) breaches.push({ streamId: verifier.streamId, ok: false, eventsChecked: verifier.checked, breach });
      }
      heads.delete(verifier.streamId);
    };
    // Keyset pages over the (stream_id, stream_version) index: constant memory for any store size.
    let after: { streamId: string; version: number } = { streamId: '', version: -1 };
    for (;;) {
      const page = await this.pool.query<EventRow>(
        `SELECT ${EVENT_COLUMNS} FROM ${this.s}.events WHERE (stream_id, stream_version) > ($1, $2)
         ORDER BY stream_id, stream_version LIMIT 5000`,
        [after.streamId, after.version],
      );
      for (const row of page.rows) {
        const event = toStoredEvent(row);
        if (current?.verifier.streamId !== event.streamId) {
          finish();
          current = { verifier: new ChainVerifier(event.streamId) };
        }
        events += 1;
        if (current.breach) continue;
        const breach = current.verifier.next(event);
        if (breach) {
          current.breach = { streamId: event.streamId, ok: false, eventsChecked: current.verifier.checked, breach };
          breaches.push(current.breach);
        }
      }
      const last = page.rows[page.rows.length - 1];
      if (!last) break;
      after = { streamId: last.stream_id, version: Number(last.stream_version) };
    }
    finish();
    // Heads left over have no events at all: a whole stream was deleted behind the store's back.
    for (const [streamId, head] of heads) {
      if (head.version < 0) continue;
      streams += 1;
      breaches.push({
        streamId,
        ok: false,
        eventsChecked: 0,
        breach: { streamVersion: 0, reason: 'head-mismatch', detail: `stream head says version ${head.version} but no events exist` },
      });
    }
    return { streams, events, breaches };
  }

  onAppended(listener: () => void): () => void {
    return this.notifier.subscribe(listener);
  }

  async close(): Promise<void> {
    await this.notifier.close();
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function expectedToSql(expected: ExpectedVersion): number | null {
  if (expected === 'any') return null;
  if (expected === 'no-stream') return -1;
  if (!Number.isInteger(expected) || expected < 0) {
    throw new InvalidEventError('(any)', 'expectedVersion', `expectedVersion must be 'no-stream', 'any' or an integer >= 0 (got ${String(expected)})`);
  }
  return expected;
}
