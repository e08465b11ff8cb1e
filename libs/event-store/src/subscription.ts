import type { PoolClient } from 'pg';
import type { DataSource, EntityManager } from 'typeorm';
import { quoteSchema } from './identifiers';
import { Sleeper } from './sleeper';
import type { EventStore } from './store';
import type { RecordedEvent } from '@antibody/contracts';
import type { Checkpoint, StoredEvent } from './types';
import { START } from './types';

/** Where a subscription that has no checkpoint yet starts. */
export type StartFrom = 'start' | 'now';

export interface SubscriptionOptions {
  /** Only for a subscription without a checkpoint. Default `start` (position 0). */
  readonly from?: StartFrom;
  /** Events read per round, and handled per transaction unless `transactionPerEvent` (default 500). */
  readonly batchSize?: number;
  /**
   * Hand the handler one event per transaction, committing the checkpoint after each: the handler
   * then reads (outside its transaction) what it wrote for the previous event, and a long handler
   * holds no transaction id of an earlier event's writes (which would hold back every reader of
   * the global log). For reactions, as the bus's consumers are; projections keep their batches.
   * Events that the `types` filter skips need no transaction of their own.
   */
  readonly transactionPerEvent?: boolean;
  /** Fallback poll when no wake-up arrives (default 1000 ms). */
  readonly pollIntervalMs?: number;
  /** Only these event types reach the handler; the checkpoint still moves past the others. */
  readonly types?: readonly string[];
  /** Called when a batch fails; the batch is retried with backoff. Default: ignore. */
  readonly onError?: (error: unknown) => void;
}

/** A subscription that is running. */
export interface Subscription {
  readonly name: string;
  /**
   * Resolves once the checkpoint reaches `target` (default: everything readable at the time of
   * the call). Rejects after `timeoutMs` (default 30 s).
   */
  caughtUp(options?: { target?: Checkpoint; timeoutMs?: number }): Promise<void>;
  /** The committed checkpoint. */
  checkpoint(): Promise<Checkpoint>;
  /** Finishes the batch in progress, then stops. */
  stop(): Promise<void>;
}

/** A unit of work the checkpoint commits with. */
interface UnitOfWork<C> {
  readonly context: C;
  query(sql: string, params: unknown[]): Promise<Array<Record<string, unknown>>>;
  commit(): Promise<void>;
  rollback(): Promise<void>;
}

/**
 * Runs `handler` over the global log with a named checkpoint stored in the same Postgres
 * transaction as the handler's writes, so a crash leaves either both or neither.
 * Several instances may run the same name: one processes at a time, the others stand by.
 * The handler gets the events typed by their contracts and upcast, as `readAll` reads them.
 */
export function subscribe(
  store: EventStore,
  name: string,
  handler: (events: readonly RecordedEvent[], client: PoolClient) => Promise<void>,
  options: SubscriptionOptions = {},
): Subscription {
  const open = async (): Promise<UnitOfWork<PoolClient>> => {
    const client = await store.pool.connect();
    // A checked-out client has no pool listener: without ours, a connection lost mid-batch
    // (Postgres restarting) would be an unhandled 'error' event and end the process. The failing
    // query rejects anyway, which rolls the batch back for a retry.
    const ignoreLostConnection = () => undefined;
    client.on('error', ignoreLostConnection);
    const release = (error?: Error) => {
      client.off('error', ignoreLostConnection);
      client.release(error);
    };
    try {
      await client.query('BEGIN');
    } catch (error) {
      release(error as Error);
      throw error;
    }
    return {
      context: client,
      query: async (sql, params) => (await client.query(sql, params)).rows,
      commit: async () => {
        try {
          await client.query('COMMIT');
        } catch (error) {
          release(error as Error);
          throw error;
        }
        release();
        store.afterCommit(client);
      },
      rollback: async () => {
        try {
          await client.query('ROLLBACK');
          release();
        } catch (error) {
          release(error as Error);
        }
      },
    };
  };
  return new CheckpointedLoop(store, name, open, handler, options).start();
}

/** A read model maintained from events with TypeORM. Must be deterministic: same events, same rows. */
export interface Projection {
  readonly name: string;
  /** Applies events in order inside the checkpoint's transaction. */
  handle(events: readonly StoredEvent[], manager: EntityManager): Promise<void>;
  /** Deletes everything the projection wrote (for a rebuild). */
  reset(manager: EntityManager): Promise<void>;
}

/** Runs a TypeORM projection as a subscription; its rows and checkpoint commit together. */
export function runProjection(
  store: EventStore,
  dataSource: DataSource,
  projection: Projection,
  options: SubscriptionOptions = {},
): Subscription {
  const open = async (): Promise<UnitOfWork<EntityManager>> => {
    const runner = dataSource.createQueryRunner();
    await runner.connect();
    await runner.startTransaction();
    return {
      context: runner.manager,
      query: (sql, params) => runner.query(sql, params),
      commit: async () => {
        try {
          await runner.commitTransaction();
        } finally {
          await runner.release();
        }
      },
      rollback: async () => {
        try {
          await runner.rollbackTransaction();
        } finally {
          await runner.release();
        }
      },
    };
  };
  return new CheckpointedLoop(store, projection.name, open, (events, manager) => projection.handle(events, manager), options).start();
}

/** Empties a projection and moves its checkpoint back to position 0, atomically; a running loop then rebuilds it. */
export async function resetProjection(store: EventStore, dataSource: DataSource, projection: Projection): Promise<void> {
  await dataSource.transaction(async (manager) => {
    await projection.reset(manager);
    await manager.query(
      `INSERT INTO ${quoteSchema(store.schema)}.checkpoints (name, transaction_id, global_position) VALUES ($1, '0', 0)
       ON CONFLICT (name) DO UPDATE SET transaction_id = '0', global_position = 0, updated_at = now()`,
      [projection.name],
    );
  });
}

class CheckpointedLoop<C> implements Subscription {
  private stopped = false;
  private running: Promise<void> | undefined;
  private readonly sleeper = new Sleeper();
  private unsubscribe: (() => void) | undefined;
  private idleWaiters: Array<() => void> = [];
  private readonly batchSize: number;
  private readonly pollIntervalMs: number;
  private readonly types: ReadonlySet<string> | undefined;
  private readonly table: string;

  constructor(
    private readonly store: EventStore,
    readonly name: string,
    private readonly open: () => Promise<UnitOfWork<C>>,
    private readonly handler: (events: readonly RecordedEvent[], context: C) => Promise<void>,
    private readonly options: SubscriptionOptions,
  ) {
    this.batchSize = options.batchSize ?? 500;
    this.pollIntervalMs = options.pollIntervalMs ?? 1000;
    this.types = options.types ? new Set(options.types) : undefined;
    this.table = `${quoteSchema(store.schema)}.checkpoints`;
  }

  start(): this {
    this.unsubscribe = this.store.onAppended(() => this.sleeper.wake());
    this.running = this.loop();
    return this;
  }

  async caughtUp(options: { target?: Checkpoint; timeoutMs?: number } = {}): Promise<void> {
    const timeoutMs = options.timeoutMs ?? 30_000;
    const target = options.target ?? (await this.store.headCheckpoint());
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const at = await this.checkpoint();
      if (compareCheckpoints(at, target) >= 0) return;
      if (Date.now() > deadline) throw new Error(`subscription "${this.name}" did not catch up within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        this.idleWaiters.push(resolve);
        this.sleeper.wake();
        setTimeout(resolve, 50).unref();
      });
    }
  }

  async checkpoint(): Promise<Checkpoint> {
    return (await readCheckpoint(this.store, this.name)) ?? START;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    this.sleeper.wake();
    await this.running;
  }

  private async loop(): Promise<void> {
    let failures = 0;
    await this.ensureCheckpoint();
    while (!this.stopped) {
      let outcome: 'progress' | 'idle' | 'busy';
      try {
        outcome = await this.step();
        failures = 0;
      } catch (error) {
        failures += 1;
        this.options.onError?.(error);
        await this.sleep(Math.min(30_000, 100 * 2 ** Math.min(failures, 9)));
        continue;
      }
      if (outcome === 'progress') continue;
      for (const resolve of this.idleWaiters.splice(0)) resolve();
      await this.sleep(this.pollIntervalMs);
    }
  }

  private async ensureCheckpoint(): Promise<void> {
    for (;;) {
      try {
        const from = this.options.from === 'now' ? await this.store.headCheckpoint() : START;
        await this.store.pool.query(
          `INSERT INTO ${this.table} (name, transaction_id, global_position) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING`,
          [this.name, from.transactionId, from.position],
        );
        return;
      } catch (error) {
        this.options.onError?.(error);
        if (this.stopped) return;
        await this.sleep(1000);
      }
    }
  }

  /** One round: read outside any transaction, then apply the events in one transaction, or one per event. */
  private async step(): Promise<'progress' | 'idle' | 'busy'> {
    const from = await this.checkpoint();
    const { events, checkpoint } = await this.store.readAll({ after: from, limit: this.batchSize });
    if (events.length === 0) return 'idle';
    const selected = this.types ? events.filter((event) => this.types?.has(event.type)) : events;
    if (!this.options.transactionPerEvent) return (await this.apply(from, selected, checkpoint)) === 'busy' ? 'busy' : 'progress';
    let at = from;
    for (const event of selected) {
      const to = { transactionId: event.transactionId, position: event.globalPosition };
      const outcome = await this.apply(at, [event], to);
      if (outcome === 'busy') return 'busy';
      if (outcome === 'moved' || this.stopped) return 'progress';
      at = to;
    }
    if (compareCheckpoints(at, checkpoint) < 0 && (await this.apply(at, [], checkpoint)) === 'busy') return 'busy';
    return 'progress';
  }

  /**
   * Takes the subscription's lock, checks the checkpoint is still at `from`, hands `events` to
   * the handler, moves the checkpoint to `to`, commits. `moved` when another instance moved the
   * checkpoint meanwhile (nothing applied: the next round reads from there); `busy` when another
   * instance leads the subscription.
   */
  private async apply(from: Checkpoint, events: readonly RecordedEvent[], to: Checkpoint): Promise<'applied' | 'moved' | 'busy'> {
    const unit = await this.open();
    try {
      // A transaction-level advisory lock, not a row lock: it gives the transaction no id, so a
      // long handler (a validation running a test suite) does not hold back every reader of the
      // global log; the transaction takes an id only at its first write (an emit, the checkpoint).
      const [lock] = await unit.query(`SELECT pg_try_advisory_xact_lock(${SUBSCRIPTION_LOCK_CLASS}, hashtext($1)) AS ok`, [
        `${this.store.schema}:${this.name}`,
      ]);
      if (!lock?.ok) {
        await unit.rollback();
        return 'busy'; // another instance leads this subscription
      }
      const [row] = await unit.query(`SELECT transaction_id, global_position FROM ${this.table} WHERE name = $1`, [this.name]);
      if (!row || String(row.transaction_id) !== from.transactionId || String(row.global_position) !== from.position) {
        // Another instance moved the checkpoint since we read: read again from there.
        await unit.rollback();
        return 'moved';
      }
      if (events.length > 0) await this.handler(events, unit.context);
      await unit.query(
        `UPDATE ${this.table} SET transaction_id = $2, global_position = $3, updated_at = now() WHERE name = $1`,
        [this.name, to.transactionId, to.position],
      );
      await unit.commit();
      return 'applied';
    } catch (error) {
      await unit.rollback();
      throw error;
    }
  }

  private sleep(ms: number): Promise<void> {
    return this.sleeper.sleep(ms);
  }
}

/** The committed checkpoint called `name`, or undefined when there is none yet. */
export async function readCheckpoint(store: EventStore, name: string): Promise<Checkpoint | undefined> {
  const { rows } = await store.pool.query<{ transaction_id: string; global_position: string }>(
    `SELECT transaction_id, global_position FROM ${quoteSchema(store.schema)}.checkpoints WHERE name = $1`,
    [name],
  );
  const row = rows[0];
  return row ? { transactionId: row.transaction_id, position: row.global_position } : undefined;
}

/**
 * Creates the named checkpoint at `at` unless it exists, and returns the stored one (which may be
 * another instance's, created first). For a reader that keeps its own position, such as the relay.
 */
export async function ensureCheckpoint(store: EventStore, name: string, at: Checkpoint = START): Promise<Checkpoint> {
  await store.pool.query(
    `INSERT INTO ${quoteSchema(store.schema)}.checkpoints (name, transaction_id, global_position) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING`,
    [name, at.transactionId, at.position],
  );
  const stored = await readCheckpoint(store, name);
  if (!stored) throw new Error(`checkpoint "${name}" vanished right after it was created`);
  return stored;
}

/**
 * Moves the named checkpoint from `from` to `to` only if it is still at `from` (compare and set).
 * False when another writer moved it first: re-read it before going on.
 */
export async function advanceCheckpoint(store: EventStore, name: string, from: Checkpoint, to: Checkpoint): Promise<boolean> {
  const { rowCount } = await store.pool.query(
    `UPDATE ${quoteSchema(store.schema)}.checkpoints SET transaction_id = $2, global_position = $3, updated_at = now()
      WHERE name = $1 AND transaction_id = $4 AND global_position = $5`,
    [name, to.transactionId, to.position, from.transactionId, from.position],
  );
  return rowCount === 1;
}

/** Advisory-lock namespace of subscriptions ("su"). */
const SUBSCRIPTION_LOCK_CLASS = 0x7375;

/** Orders checkpoints as the log does: by transaction id, then position. */
export function compareCheckpoints(a: Checkpoint, b: Checkpoint): number {
  const tx = BigInt(a.transactionId) - BigInt(b.transactionId);
  if (tx !== 0n) return tx < 0n ? -1 : 1;
  const pos = BigInt(a.position) - BigInt(b.position);
  return pos === 0n ? 0 : pos < 0n ? -1 : 1;
}
