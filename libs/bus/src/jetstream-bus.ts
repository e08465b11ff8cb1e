import { jetstream, jetstreamManager, type ConsumerMessages, type JsMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { SUBJECT_PREFIX } from '@antibody/contracts';
import { compareCheckpoints, ensureCheckpoint, readCheckpoint, type Checkpoint, type EventStore } from '@antibody/event-store';
import { consumerDefinition, STREAM_NAME, streamDefinition } from './definitions';
import { handleDelivery, handlingSettings, type HandlingSettings } from './handling';
import type { BusMetrics } from './metrics';
import { resolveConsumerOptions } from './options';
import { startStoreLogConsumer } from './store-log-bus';
import type { Consumer, ConsumerOptions, EventBus, EventHandler, Producer } from './types';

export interface JetStreamBusOptions {
  readonly nc: NatsConnection;
  readonly store: EventStore;
  readonly producer: Producer;
  readonly streamName?: string;
  readonly subjectPrefix?: string;
  /** Called for handler retries and transport trouble; the consumer keeps going. */
  readonly onError?: (error: unknown) => void;
  /** Counts deliveries by outcome (see `createBusMetrics`). */
  readonly metrics?: BusMetrics;
  /**
   * How long NATS waits for word from the instance holding a message before handing it to another
   * (the consumer's `ack_wait`, at most the handler's `ackWaitMs`; default {@link DEFAULT_LEASE_MS}).
   * A held message is kept with in-progress acks every third of it, while it waits for a handler
   * slot and while it is handled, up to the handler's `ackWaitMs`: a live instance keeps its work
   * however long it takes, a killed one's messages go to another instance (or to it, restarted)
   * within one lease.
   */
  readonly leaseMs?: number;
}

/** Default lease of a held message: what a crashed instance's work waits before it is delivered again. */
export const DEFAULT_LEASE_MS = 30_000;

/**
 * Consumers on JetStream: one durable pull consumer per service, shared by all its instances.
 * Explicit acks; a failing handler is nak'ed with backoff; after maxDeliver attempts, or at once
 * for a message that fails its schema, a MessageDeadLettered event is appended and the message
 * is terminated. A consumer created with `from: 'start'` first catches up from the store.
 */
export function createJetStreamBus(options: JetStreamBusOptions): EventBus {
  const consumers = new Set<Consumer>();
  const streamName = options.streamName ?? STREAM_NAME;
  const prefix = options.subjectPrefix ?? SUBJECT_PREFIX;
  return {
    transport: 'jetstream',
    async consume(consumerOptions: ConsumerOptions, handler: EventHandler): Promise<Consumer> {
      const resolved = resolveConsumerOptions(consumerOptions);
      const jsm = await jetstreamManager(options.nc);
      await ensureStream(jsm, streamDefinition({ name: streamName, subjectPrefix: prefix }));
      const definition = consumerDefinition({
        durable: resolved.durable,
        types: resolved.typeList,
        subjectPrefix: prefix,
        maxDeliver: resolved.maxDeliver,
        ackWaitMs: Math.min(resolved.ackWaitMs, options.leaseMs ?? DEFAULT_LEASE_MS),
        multipleFilters: supportsMultipleFilters(options.nc),
      });
      const existed = await jsm.consumers.info(streamName, resolved.durable).then(
        () => true,
        () => false,
      );
      if (existed) await jsm.consumers.update(streamName, resolved.durable, definition);
      else await jsm.consumers.add(streamName, definition);
      const caughtUpTo = resolved.from === 'start' ? await catchUp(options, consumerOptions, handler, existed) : undefined;

      const settings = { ...handlingSettings(resolved, options.store, options.producer, handler, options.metrics), skipUpTo: caughtUpTo };
      const consumer = await jetstream(options.nc).consumers.get(streamName, resolved.durable);
      const held = Math.max(10, resolved.concurrency * 4);
      const messages = await consumer.consume({ max_messages: held });
      const lease = { leaseMs: Math.min(resolved.ackWaitMs, options.leaseMs ?? DEFAULT_LEASE_MS), holdMs: resolved.ackWaitMs };
      const loop = runMessages(messages, settings, { concurrency: resolved.concurrency, held, lease }, options.onError);
      const running: Consumer = {
        durable: resolved.durable,
        stop: async () => {
          consumers.delete(running);
          await messages.close().catch(() => undefined);
          await loop;
        },
      };
      consumers.add(running);
      return running;
    },
    async close() {
      await Promise.all([...consumers].map((c) => c.stop()));
    },
  };
}

interface Lease {
  /** The consumer's ack_wait. */
  readonly leaseMs: number;
  /** The handler's ackWaitMs: after this long a message is no longer kept. */
  readonly holdMs: number;
}

/**
 * Takes up to `held` messages off the subscription, each kept with in-progress acks from the
 * moment it arrives (see {@link JetStreamBusOptions.leaseMs}), and handles `concurrency` at a time.
 */
async function runMessages(messages: ConsumerMessages, settings: HandlingSettings, limits: { concurrency: number; held: number; lease: Lease }, onError?: (error: unknown) => void): Promise<void> {
  const holding = new Set<Promise<void>>();
  const slots = semaphore(limits.concurrency);
  for await (const msg of messages) {
    const stopKeeping = keep(msg, limits.lease);
    const work = slots
      .run(() => handleMessage(msg, settings, onError))
      .finally(() => {
        stopKeeping();
        holding.delete(work);
      });
    holding.add(work);
    if (holding.size >= limits.held) await Promise.race(holding);
  }
  await Promise.all(holding);
}

/** Sends in-progress acks every third of the lease until stopped or until the hold time would pass. */
function keep(msg: JsMsg, lease: Lease): () => void {
  if (lease.holdMs <= lease.leaseMs) return () => undefined;
  const since = Date.now();
  const timer = setInterval(() => {
    if (Date.now() - since + lease.leaseMs > lease.holdMs) return clearInterval(timer);
    try {
      msg.working();
    } catch {
      // The connection is closing: NATS redelivers after the lease.
    }
  }, Math.max(100, Math.floor(lease.leaseMs / 3)));
  timer.unref();
  return () => clearInterval(timer);
}

function semaphore(size: number): { run<T>(task: () => Promise<T>): Promise<T> } {
  let free = size;
  const waiting: Array<() => void> = [];
  return {
    async run(task) {
      if (free > 0) free--;
      else await new Promise<void>((resolve) => waiting.push(resolve));
      try {
        return await task();
      } finally {
        const next = waiting.shift();
        if (next) next();
        else free++;
      }
    },
  };
}

async function handleMessage(msg: JsMsg, settings: HandlingSettings, onError?: (error: unknown) => void): Promise<void> {
  try {
    const disposition = await handleDelivery(
      { raw: msg.string(), deliveryCount: msg.info.deliveryCount, system: 'nats', destination: msg.subject },
      settings,
    );
    switch (disposition.kind) {
      case 'ack':
        msg.ack();
        return;
      case 'retry':
        onError?.(disposition.error);
        msg.nak(disposition.delayMs);
        return;
      case 'dead-lettered':
        msg.term(disposition.reason.slice(0, 200));
        return;
      default: {
        const unreachable: never = disposition;
        throw new Error(`unknown disposition ${String(unreachable)}`);
      }
    }
  } catch (error) {
    // Writing the dead-letter event failed (database down): let NATS redeliver later.
    onError?.(error);
    msg.nak(1000);
  }
}

/**
 * History for a new consumer: the JetStream consumer exists first (so it captures everything
 * relayed from now on), then the store is read from position 0 up to a target taken after that
 * moment. Events in both sets are handled twice at most, which deterministic event ids make
 * harmless; JetStream messages at or below the target are acknowledged without a second call.
 * The target is recorded, so a crash mid-catch-up resumes instead of skipping history.
 */
async function catchUp(options: JetStreamBusOptions, consumerOptions: ConsumerOptions, handler: EventHandler, existed: boolean): Promise<Checkpoint | undefined> {
  const { store } = options;
  const targetName = `catchup-target:${consumerOptions.durable}`;
  const target = existed ? await readCheckpoint(store, targetName) : await ensureCheckpoint(store, targetName, await store.headCheckpoint());
  if (!target) return undefined; // a consumer created with from: 'now'
  const progressName = `catchup:${consumerOptions.durable}`;
  const progress = await readCheckpoint(store, progressName);
  if (progress && compareCheckpoints(progress, target) >= 0) return target;
  const subscription = startStoreLogConsumer(
    { store, producer: options.producer, onError: options.onError, metrics: options.metrics },
    { ...consumerOptions, from: 'start' },
    handler,
    progressName,
  );
  try {
    await subscription.caughtUp({ target, timeoutMs: Number.POSITIVE_INFINITY });
  } finally {
    await subscription.stop();
  }
  return target;
}

/** Creates the stream, or updates it when its definition changed. */
export async function ensureStream(
  jsm: Awaited<ReturnType<typeof jetstreamManager>>,
  definition: ReturnType<typeof streamDefinition>,
): Promise<void> {
  const existing = await jsm.streams.info(definition.name).catch(() => undefined);
  if (!existing) {
    await jsm.streams.add(definition).catch(async (error: unknown) => {
      // Another instance created it first.
      if (!(await jsm.streams.info(definition.name).catch(() => undefined))) throw error;
    });
    return;
  }
  const same = existing.config.subjects?.join(',') === definition.subjects.join(',') && existing.config.duplicate_window === definition.duplicate_window;
  if (!same) await jsm.streams.update(definition.name, definition);
}

function supportsMultipleFilters(nc: NatsConnection): boolean {
  const version = nc.info?.version ?? '0.0.0';
  const [major = 0, minor = 0] = version.split('.').map(Number);
  return major > 2 || (major === 2 && minor >= 10);
}
