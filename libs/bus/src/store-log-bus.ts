import { categoryOf } from '@antibody/contracts';
import { subscribe, type EventStore, type Subscription } from '@antibody/event-store';
import { handleDelivery, handlingSettings } from './handling';
import type { BusMetrics } from './metrics';
import { resolveConsumerOptions } from './options';
import type { Consumer, ConsumerOptions, EventBus, EventHandler, Producer } from './types';

/** Thrown inside the subscription's transaction to roll it back and retry the batch later. */
class RetryLater extends Error {
  constructor(cause: unknown) {
    super('handler asked for a retry', { cause });
    this.name = 'RetryLater';
  }
}

export interface StoreLogBusOptions {
  readonly store: EventStore;
  readonly producer: Producer;
  /** Called when a batch is retried (handler failure or database trouble). */
  readonly onError?: (error: unknown) => void;
  readonly pollIntervalMs?: number;
  /** Counts deliveries by outcome (see `createBusMetrics`). */
  readonly metrics?: BusMetrics;
}

/**
 * The embedded transport: consumers read the store's global log directly through checkpointed
 * subscriptions. A handler's emitted events and the consumer's checkpoint commit in one
 * transaction, so delivery is exactly-once here; instances of one durable take turns (one
 * active, the others standing by).
 */
export function createStoreLogBus(options: StoreLogBusOptions): EventBus {
  const running = new Set<Subscription>();
  return {
    transport: 'store-log',
    async consume(consumerOptions: ConsumerOptions, handler: EventHandler): Promise<Consumer> {
      const subscription = startStoreLogConsumer(options, consumerOptions, handler, `bus:${consumerOptions.durable}`);
      running.add(subscription);
      return {
        durable: consumerOptions.durable,
        stop: async () => {
          running.delete(subscription);
          await subscription.stop();
        },
      };
    },
    async close() {
      await Promise.all([...running].map((s) => s.stop()));
      running.clear();
    },
  };
}

/** Runs a consumer over the store's log under a checkpoint name; also the JetStream bus's catch-up. */
export function startStoreLogConsumer(
  options: StoreLogBusOptions,
  consumerOptions: ConsumerOptions,
  handler: EventHandler,
  checkpointName: string,
): Subscription {
  const resolved = resolveConsumerOptions(consumerOptions);
  const settings = handlingSettings(resolved, options.store, options.producer, handler, options.metrics);
  const attempts = new Map<string, number>();
  return subscribe(
    options.store,
    checkpointName,
    async (events, client) => {
      for (const event of events) {
        const deliveryCount = (attempts.get(event.eventId) ?? 0) + 1;
        const disposition = await handleDelivery(
          { raw: JSON.stringify(event), deliveryCount, client, system: 'antibody_store', destination: categoryOf(event.streamId) },
          settings,
        );
        if (disposition.kind === 'retry') {
          attempts.set(event.eventId, deliveryCount);
          throw new RetryLater(disposition.error);
        }
        attempts.delete(event.eventId);
      }
    },
    {
      from: resolved.from,
      batchSize: 20,
      // As on JetStream, each event is handled on its own: a handler reads what it appended for the previous one.
      transactionPerEvent: true,
      types: consumerOptions.types,
      pollIntervalMs: options.pollIntervalMs,
      onError: options.onError,
    },
  );
}
