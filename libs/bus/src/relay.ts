import { Client } from 'pg';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { headers, type NatsConnection } from '@nats-io/nats-core';
import { categoryOf, SUBJECT_PREFIX } from '@antibody/contracts';
import { advanceCheckpoint, ensureCheckpoint, readCheckpoint, Sleeper, START, type Checkpoint, type EventStore, type StoredEvent } from '@antibody/event-store';
import { STREAM_NAME, streamDefinition, subjectOf } from './definitions';
import { ensureStream } from './jetstream-bus';

export interface RelayOptions {
  readonly store: EventStore;
  readonly nc: NatsConnection;
  readonly streamName?: string;
  readonly subjectPrefix?: string;
  /** Events published per round (default 500). */
  readonly batchSize?: number;
  /** Fallback poll when no NOTIFY arrives (default 250 ms). */
  readonly pollIntervalMs?: number;
  /** How often a standby tries to become the active relay (default 1 s). */
  readonly standbyRetryMs?: number;
  readonly onError?: (error: unknown) => void;
  /** Told when this relay becomes active or stands by. */
  readonly onRoleChange?: (role: 'active' | 'standby') => void;
}

/** A running relay. */
export interface Relay {
  /** True while this instance holds the relay lock and publishes. */
  isActive(): boolean;
  /** The relay's committed checkpoint. */
  checkpoint(): Promise<Checkpoint>;
  /** Events this instance has published (acknowledged by JetStream) since it started. */
  published(): number;
  stop(): Promise<void>;
}

/**
 * The only publisher to NATS. Reads the store's global log in order and publishes each event to
 * `<prefix>.<category>.<Type>` with `Nats-Msg-Id` = event id, then advances its checkpoint, only
 * after every publish in the round was acknowledged. A crash between the two re-publishes the
 * round, which JetStream's duplicate window discards. Exactly one relay is active: it holds a
 * Postgres session advisory lock; standbys retry and take over when its session ends.
 */
export function startRelay(options: RelayOptions): Relay {
  return new StoreToJetStreamRelay(options).start();
}

class StoreToJetStreamRelay implements Relay {
  private stopped = false;
  private active = false;
  private count = 0;
  private lockClient: Client | undefined;
  private readonly sleeper = new Sleeper();
  private unsubscribe: (() => void) | undefined;
  private running: Promise<void> | undefined;
  private readonly streamName: string;
  private readonly prefix: string;
  private readonly checkpointName: string;

  constructor(private readonly options: RelayOptions) {
    this.streamName = options.streamName ?? STREAM_NAME;
    this.prefix = options.subjectPrefix ?? SUBJECT_PREFIX;
    this.checkpointName = `relay:${this.streamName}`;
  }

  start(): this {
    this.unsubscribe = this.options.store.onAppended(() => this.sleeper.wake());
    this.running = this.run();
    return this;
  }

  isActive(): boolean {
    return this.active;
  }

  published(): number {
    return this.count;
  }

  async checkpoint(): Promise<Checkpoint> {
    return (await readCheckpoint(this.options.store, this.checkpointName)) ?? START;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    this.sleeper.wake();
    await this.running;
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      try {
        if (!(await this.acquire())) {
          await this.sleep(this.options.standbyRetryMs ?? 1000);
          continue;
        }
        await this.publishWhileActive();
        failures = 0;
      } catch (error) {
        failures += 1;
        this.options.onError?.(error);
        await this.sleep(Math.min(5000, 100 * 2 ** Math.min(failures, 6)));
      } finally {
        if (this.stopped || !this.lockClient) await this.release();
      }
    }
    await this.release();
  }

  /** Takes the relay lock on a session of its own; the lock lives exactly as long as that session. */
  private async acquire(): Promise<boolean> {
    if (this.lockClient && this.active) return true;
    const client = new Client(this.options.store.pool.options);
    client.on('error', () => this.lose(client));
    client.on('end', () => this.lose(client));
    await client.connect();
    const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock(hashtext($1)) AS locked', [
      `antibody-relay:${this.options.store.schema}:${this.streamName}`,
    ]);
    if (!rows[0]?.locked) {
      await client.end().catch(() => undefined);
      return false;
    }
    this.lockClient = client;
    this.setActive(true);
    await ensureCheckpoint(this.options.store, this.checkpointName);
    const jsm = await jetstreamManager(this.options.nc);
    await ensureStream(jsm, streamDefinition({ name: this.streamName, subjectPrefix: this.prefix }));
    return true;
  }

  private lose(client: Client): void {
    if (this.lockClient !== client) return;
    this.lockClient = undefined;
    client.removeAllListeners();
    client.on('error', () => undefined);
    this.setActive(false);
    this.sleeper.wake();
  }

  private async release(): Promise<void> {
    const client = this.lockClient;
    this.lockClient = undefined;
    this.setActive(false);
    if (client) await client.end().catch(() => undefined);
  }

  private setActive(active: boolean): void {
    if (this.active === active) return;
    this.active = active;
    this.options.onRoleChange?.(active ? 'active' : 'standby');
  }

  private async publishWhileActive(): Promise<void> {
    const js = jetstream(this.options.nc);
    const batchSize = this.options.batchSize ?? 500;
    let after = await this.checkpoint();
    while (!this.stopped && this.active) {
      const { events, checkpoint } = await this.options.store.readAll({ after, limit: batchSize });
      if (events.length === 0) {
        await this.sleep(this.options.pollIntervalMs ?? 250);
        continue;
      }
      // Pipelined on one connection: JetStream stores them in the order sent.
      await Promise.all(events.map((event) => js.publish(this.subjectFor(event), JSON.stringify(event), { msgID: event.eventId, headers: headersFor(event) })));
      if (!this.active) return; // lost the lock mid-round: the new active relay owns the checkpoint
      if (!(await advanceCheckpoint(this.options.store, this.checkpointName, after, checkpoint))) return; // someone else moved it: re-read before going on
      this.count += events.length;
      after = checkpoint;
    }
  }

  private subjectFor(event: StoredEvent): string {
    return subjectOf(event.type, categoryOf(event.streamId), this.prefix);
  }

  private sleep(ms: number): Promise<void> {
    return this.sleeper.sleep(ms);
  }
}

function headersFor(event: StoredEvent) {
  const h = headers();
  if (event.metadata.traceparent) h.set('traceparent', event.metadata.traceparent);
  if (event.metadata.tracestate) h.set('tracestate', event.metadata.tracestate);
  h.set('Antibody-Event-Type', event.type);
  h.set('Antibody-Stream-Id', event.streamId);
  h.set('Antibody-Stream-Version', String(event.streamVersion));
  h.set('Antibody-Hash', event.hash);
  return h;
}
