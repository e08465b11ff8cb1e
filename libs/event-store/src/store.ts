import { v7 as uuidv7 } from 'uuid';
import type { Pool, PoolClient } from 'pg';
import { eventMetadataSchema, eventCatalog, type RecordedEvent } from '@antibody/contracts';
import {
  EventIdReusedError,
  InvalidEventError,
  StreamNotFoundError,
  WrongExpectedVersionError,
} from './errors';
import { canonicalJson, chainHash, contentHash, GENESIS_HASH } from './hashing';
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

/** One stream as `listStreams` lists it. */
export interface StreamSummary {
  readonly streamId: string;
  /** Version of its last event. */
  readonly currentVersion: number;
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
  appendToStream(streamId: string, events: readonly NewEvent[], options?: AppendOptions): Promise<AppendResult>;
  /**
   * Reads a stream in version order, each event's data upcast to its type's current schema
   * version; `exists: false` and no events when it does not exist. Events are typed by the catalog
   * (the store validated them at append).
   */
  readStream(streamId: string, options?: ReadStreamOptions): Promise<ReadStreamResult<RecordedEvent>>;
  /**
   * Reads the global log after a checkpoint, gap-safe: never returns an event before one that may
   * still commit. Data is upcast and typed as in {@link EventStore.readStream}.
   */
  readAll(options?: ReadAllOptions): Promise<ReadAllResult>;
  /** The checkpoint after the last event that is safely readable now. */
  headCheckpoint(): Promise<Checkpoint>;
  /**
   * The streams whose id starts with `prefix` (e.g. `service-`), ordered by id (bytewise), each with
   * its current version. One scan of the events table: for operators' listings, not hot paths.
   */
  listStreams(prefix: string): Promise<readonly StreamSummary[]>;
  /** Verifies one stream's hash chain. Throws StreamNotFoundError for an unknown stream. */
  verifyStream(streamId: string): Promise<StreamVerification>;
  /** Verifies every stream in one ordered scan. */
  verifyAll(): Promise<StoreVerification>;
  /**
   * Call after committing a transaction that was passed to `appendToStream` as `client`: wakes
   * readers when it appended events (an autocommit append wakes them by itself).
   */
  afterCommit(client: PoolClient): void;
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
  upcast: (type, schemaVersion, data) => eventCatalog.upcast(type, schemaVersion, data),
};

// recorded_at comes back as the exact ISO text the store wrote (millisecond precision, UTC), which
// the hash covers: no Date parsing and re-formatting per row on the read path.
const EVENT_COLUMNS = `event_id, type, schema_version, data, stream_id, stream_version, global_position,
  transaction_id, metadata, to_char(recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS recorded_at,
  prev_hash, hash`;

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
  recorded_at: string;
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
    recordedAt: row.recorded_at,
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}

const PG_UNIQUE_VIOLATION = '23505';

/** With expectedVersion 'any', how often to retry when a concurrent writer takes the version. */
const MAX_ATTEMPTS = 10;
const HEAD_CACHE_SIZE = 10_000;

interface StreamHead {
  readonly version: number;
  readonly hash: string;
}
const GENESIS_HEAD: StreamHead = Object.freeze({ version: -1, hash: GENESIS_HASH });

interface PreparedEvent {
  readonly id: string;
  readonly type: string;
  readonly sv: number;
  readonly data: unknown;
  readonly metadata: unknown;
  readonly contentHash: string;
}

interface ChainedRow {
  readonly id: string;
  readonly streamId: string;
  readonly version: number;
  readonly type: string;
  readonly sv: number;
  readonly data: unknown;
  readonly metadata: unknown;
  readonly recordedAt: string;
  readonly prevHash: string;
  readonly hash: string;
}

/** Links prepared events onto a stream head: versions, prevHash and hash (the formula of hashing.ts). */
function chainRows(streamId: string, head: StreamHead, events: readonly PreparedEvent[], recordedAt: string): ChainedRow[] {
  let previous = head.hash;
  return events.map((event, index) => {
    const version = head.version + 1 + index;
    const hash = chainHash(previous, version, event.contentHash);
    const row: ChainedRow = {
      id: event.id,
      streamId,
      version,
      type: event.type,
      sv: event.sv,
      data: event.data,
      metadata: event.metadata,
      recordedAt,
      prevHash: previous,
      hash,
    };
    previous = hash;
    return row;
  });
}

/** A pool or a client inside the caller's transaction. */
type Queryable = Pick<PoolClient, 'query'>;

/** Options of an append. */
export interface AppendOptions {
  /** Default `any`. */
  readonly expectedVersion?: ExpectedVersion;
  /**
   * Append inside the caller's transaction (e.g. with a subscription's checkpoint). The events
   * commit or roll back with it; call `afterCommit(client)` once it committed to wake readers.
   */
  readonly client?: PoolClient;
}

class PostgresEventStore implements EventStore {
  private readonly s: string;
  private readonly notifier: AppendNotifier;
  /** Callers' transactions that appended and still owe readers a wake-up when they commit. */
  private readonly appendedIn = new WeakSet<PoolClient>();
  /** Last known head per stream, from this store's own commits: saves a read per append. */
  private readonly heads = new Map<string, StreamHead>();
  private readonly sql: {
    insertOne: string;
    insertMany: string;
    readStream: string;
    readAll: string;
    head: string;
    horizon: string;
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
      insertOne: `INSERT INTO ${s}.events (event_id, stream_id, stream_version, type, schema_version, data, metadata,
        recorded_at, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING global_position`,
      insertMany: `INSERT INTO ${s}.events (event_id, stream_id, stream_version, type, schema_version, data, metadata,
        recorded_at, prev_hash, hash)
        SELECT x.id, $1, x.version, x.type, x.sv, x.data, x.metadata, $2, x."prevHash", x.hash
          FROM jsonb_to_recordset($3::jsonb) AS x(id uuid, version bigint, type text, sv int, data jsonb, metadata jsonb, "prevHash" text, hash text)
        RETURNING global_position, stream_version`,
      readStream: `SELECT ${EVENT_COLUMNS} FROM ${s}.events WHERE stream_id = $1 AND stream_version BETWEEN $2 AND $3 ORDER BY stream_version`,
      readAll: `SELECT ${EVENT_COLUMNS} FROM ${s}.events
        WHERE (transaction_id, global_position) > ($1::xid8, $2::bigint)
          AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())
        ORDER BY transaction_id, global_position LIMIT $3`,
      head: `SELECT stream_version, hash FROM ${s}.events WHERE stream_id = $1 ORDER BY stream_version DESC LIMIT 1`,
      horizon: `SELECT transaction_id, global_position FROM ${s}.events
        WHERE transaction_id < pg_snapshot_xmin(pg_current_snapshot())
        ORDER BY transaction_id DESC, global_position DESC LIMIT 1`,
    };
  }

  async appendToStream(streamId: string, events: readonly NewEvent[], options: AppendOptions = {}): Promise<AppendResult> {
    if (typeof streamId !== 'string' || streamId.length === 0 || streamId.length > 200) {
      throw new InvalidEventError('(any)', 'streamId', 'streamId must be a non-empty string of at most 200 characters');
    }
    if (events.length === 0) throw new InvalidEventError('(any)', 'events', 'append needs at least one event');
    const expected = options.expectedVersion ?? 'any';
    assertExpectedVersion(expected);
    const recordedAt = new Date().toISOString();
    const prepared = events.map((event) => this.prepare(streamId, event, recordedAt));
    const db = options.client ?? this.pool;
    // Heads are only cached from autocommit appends: a caller's transaction may still roll back.
    const cacheable = options.client === undefined;
    if (!cacheable) this.heads.delete(streamId);

    for (let attempt = 1; ; attempt++) {
      const head = expected === 'no-stream' ? GENESIS_HEAD : ((cacheable && attempt === 1 && this.heads.get(streamId)) || (await this.readHead(db, streamId)));
      if (typeof expected === 'number' && head.version !== expected) {
        const fresh = await this.readHead(db, streamId);
        if (fresh.version !== expected) {
          const original = await this.findOriginalAppend(db, streamId, prepared);
          if (original) return original;
          throw new WrongExpectedVersionError(streamId, expected, fresh.version);
        }
        continue;
      }
      const rows = chainRows(streamId, head, prepared, recordedAt);
      // In a caller's transaction a failed INSERT would abort it: a savepoint keeps it usable
      // for the duplicate check and the retry.
      if (options.client) await options.client.query('SAVEPOINT antibody_append');
      try {
        const positions = await this.insert(db, rows);
        if (options.client) await options.client.query('RELEASE SAVEPOINT antibody_append');
        const last = rows[rows.length - 1] as ChainedRow;
        if (cacheable) this.rememberHead(streamId, { version: last.version, hash: last.hash });
        if (options.client) this.appendedIn.add(options.client);
        else this.notifier.appended();
        return { streamId, nextExpectedVersion: last.version, positions, duplicate: false };
      } catch (error) {
        const pgError = error as { code?: string; constraint?: string };
        if (options.client) await options.client.query('ROLLBACK TO SAVEPOINT antibody_append');
        if (pgError.code !== PG_UNIQUE_VIOLATION) throw error;
        this.heads.delete(streamId);
        // A retry of an append that already happened lands here: answer it with the original.
        const original = await this.findOriginalAppend(db, streamId, prepared);
        if (original) return original;
        if (pgError.constraint !== 'events_stream_version_key') throw error;
        // Another writer took the version first (or our cached head was behind).
        if (expected === 'no-stream' || (expected !== 'any' && attempt > 1) || attempt >= MAX_ATTEMPTS) {
          throw new WrongExpectedVersionError(streamId, expected, (await this.readHead(db, streamId)).version);
        }
      }
    }
  }

  private async insert(db: Queryable, rows: readonly ChainedRow[]): Promise<string[]> {
    const first = rows[0] as ChainedRow;
    if (rows.length === 1) {
      const result = await db.query<{ global_position: string }>({
        name: `antibody-append-one-${this.schema}`,
        text: this.sql.insertOne,
        values: [
          first.id,
          first.streamId,
          first.version,
          first.type,
          first.sv,
          JSON.stringify(first.data),
          JSON.stringify(first.metadata),
          first.recordedAt,
          first.prevHash,
          first.hash,
        ],
      });
      return result.rows.map((row) => row.global_position);
    }
    const result = await db.query<{ global_position: string; stream_version: string }>({
      name: `antibody-append-many-${this.schema}`,
      text: this.sql.insertMany,
      values: [first.streamId, first.recordedAt, JSON.stringify(rows.map(({ streamId: _s, recordedAt: _r, ...row }) => row))],
    });
    return result.rows
      .sort((a, b) => Number(a.stream_version) - Number(b.stream_version))
      .map((row) => row.global_position);
  }

  private async readHead(db: Queryable, streamId: string): Promise<StreamHead> {
    const { rows } = await db.query<{ stream_version: string; hash: string }>({
      name: `antibody-head-${this.schema}`,
      text: this.sql.head,
      values: [streamId],
    });
    const row = rows[0];
    return row ? { version: Number(row.stream_version), hash: row.hash } : GENESIS_HEAD;
  }

  private rememberHead(streamId: string, head: StreamHead): void {
    this.heads.delete(streamId);
    this.heads.set(streamId, head);
    if (this.heads.size > HEAD_CACHE_SIZE) {
      const oldest = this.heads.keys().next().value;
      if (oldest !== undefined) this.heads.delete(oldest);
    }
  }

  /** The earlier append of exactly these events, or undefined if none of their ids is stored; throws when ids were reused. */
  private async findOriginalAppend(db: Queryable, streamId: string, payload: readonly PreparedEvent[]): Promise<AppendResult | undefined> {
    const { rows } = await db.query<{ event_id: string; stream_id: string; stream_version: string; type: string; data: unknown; global_position: string }>(
      `SELECT event_id, stream_id, stream_version, type, data, global_position FROM ${this.s}.events
        WHERE event_id = ANY($1::uuid[]) ORDER BY stream_version`,
      [payload.map((event) => event.id)],
    );
    if (rows.length === 0) return undefined;
    const first = Number(rows[0]?.stream_version);
    const same =
      rows.length === payload.length &&
      rows.every((row, i) => {
        const event = payload[i];
        return (
          event !== undefined &&
          row.event_id === event.id &&
          row.stream_id === streamId &&
          Number(row.stream_version) === first + i &&
          row.type === event.type &&
          canonicalJson(row.data) === canonicalJson(event.data)
        );
      });
    if (!same) throw new EventIdReusedError(streamId, `${rows.length} of ${payload.length} event ids are already used by other events`);
    return { streamId, nextExpectedVersion: first + rows.length - 1, positions: rows.map((row) => row.global_position), duplicate: true };
  }

  private async streamVersion(streamId: string): Promise<number> {
    return (await this.readHead(this.pool, streamId)).version;
  }

  private prepare(streamId: string, event: NewEvent, recordedAt: string): PreparedEvent {
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
    // Time-ordered (v7) ids keep the event_id index's inserts on its right edge, like a sequence.
    const eventId = event.eventId ?? uuidv7();
    if (!UUID.test(eventId)) throw new InvalidEventError(type, 'eventId', `eventId must be a uuid (got "${eventId}")`);
    const content = { eventId, streamId, type, schemaVersion, data: event.data, metadata: metadata.data, recordedAt };
    return { id: eventId, type, sv: schemaVersion, data: event.data, metadata: metadata.data, contentHash: contentHash(content) };
  }

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<ReadStreamResult<RecordedEvent>> {
    const currentVersion = await this.streamVersion(streamId);
    if (currentVersion < 0) return { exists: false, currentVersion: -1, events: [] };
    const from = options.fromVersion ?? 0;
    const to = Math.min(options.toVersion ?? currentVersion, currentVersion);
    const rows = await this.pool.query<EventRow>({
      name: `antibody-read-stream-${this.schema}`,
      text: this.sql.readStream,
      values: [streamId, from, to],
    });
    return { exists: true, currentVersion, events: rows.rows.map((row) => this.current(toStoredEvent(row)) as RecordedEvent) };
  }

  /** The event with its data at the current schema version (the hash covers what was stored, so verify reads rows as they are). */
  private current(event: StoredEvent): StoredEvent {
    const current = this.validator.currentVersion(event.type);
    if (!this.validator.upcast || current === undefined || event.schemaVersion === current) return event;
    const { schemaVersion, data } = this.validator.upcast(event.type, event.schemaVersion, event.data);
    return { ...event, schemaVersion, data };
  }

  async readAll(options: ReadAllOptions = {}): Promise<ReadAllResult> {
    const after = options.after ?? START;
    const limit = options.limit ?? 1000;
    const rows = await this.pool.query<EventRow>({
      name: `antibody-read-all-${this.schema}`,
      text: this.sql.readAll,
      values: [after.transactionId, after.position, limit],
    });
    const events = rows.rows.map((row) => this.current(toStoredEvent(row)) as RecordedEvent);
    const last = events[events.length - 1];
    return { events, checkpoint: last ? { transactionId: last.transactionId, position: last.globalPosition } : after };
  }

  async headCheckpoint(): Promise<Checkpoint> {
    const rows = await this.pool.query<{ transaction_id: string; global_position: string }>(this.sql.horizon);
    const row = rows.rows[0];
    return row ? { transactionId: row.transaction_id, position: row.global_position } : START;
  }

  async listStreams(prefix: string): Promise<readonly StreamSummary[]> {
    const rows = await this.pool.query<{ stream_id: string; version: string }>(
      `SELECT stream_id, max(stream_version) AS version FROM ${this.s}.events WHERE left(stream_id, length($1)) = $1 GROUP BY stream_id ORDER BY stream_id COLLATE "C"`,
      [prefix],
    );
    return rows.rows.map((row) => ({ streamId: row.stream_id, currentVersion: Number(row.version) }));
  }

  async verifyStream(streamId: string): Promise<StreamVerification> {
    const rows = await this.pool.query<EventRow>(
      `SELECT ${EVENT_COLUMNS} FROM ${this.s}.events WHERE stream_id = $1 ORDER BY stream_version`,
      [streamId],
    );
    if (rows.rows.length === 0) throw new StreamNotFoundError(streamId);
    return verifyChain(streamId, rows.rows.map(toStoredEvent));
  }

  async verifyAll(): Promise<StoreVerification> {
    const breaches: StreamVerification[] = [];
    let streams = 0;
    let events = 0;
    let current: { verifier: ChainVerifier; broken: boolean } | undefined;
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
          current = { verifier: new ChainVerifier(event.streamId), broken: false };
          streams += 1;
        }
        events += 1;
        if (current.broken) continue;
        const breach = current.verifier.next(event);
        if (breach) {
          current.broken = true;
          breaches.push({ streamId: event.streamId, ok: false, eventsChecked: current.verifier.checked, breach });
        }
      }
      const last = page.rows[page.rows.length - 1];
      if (!last) break;
      after = { streamId: last.stream_id, version: Number(last.stream_version) };
    }
    return { streams, events, breaches };
  }

  afterCommit(client: PoolClient): void {
    if (!this.appendedIn.delete(client)) return;
    this.notifier.appended();
  }

  onAppended(listener: () => void): () => void {
    return this.notifier.subscribe(listener);
  }

  async close(): Promise<void> {
    await this.notifier.close();
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function assertExpectedVersion(expected: ExpectedVersion): void {
  if (expected === 'any' || expected === 'no-stream') return;
  if (!Number.isInteger(expected) || expected < 0) {
    throw new InvalidEventError('(any)', 'expectedVersion', `expectedVersion must be 'no-stream', 'any' or an integer >= 0 (got ${String(expected)})`);
  }
}
