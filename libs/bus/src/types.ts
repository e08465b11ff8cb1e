import type { AntibodyEvent } from '@antibody/contracts';
import type { AppendResult, ExpectedVersion, StoredEvent } from '@antibody/event-store';

/**
 * An event caused by the one being handled: a catalog event's type and data, typed by its contract.
 * Ids, correlation, causation and trace context are filled in.
 */
export type CausedEvent = AntibodyEvent;

/** What a handler gets besides the event. */
export interface HandlerContext {
  /** How many times this event has been delivered to this consumer, 1 on the first delivery. */
  readonly deliveryCount: number;
  /**
   * Appends events caused by the one being handled. The `index`-th event this handler appended
   * for this event has an id derived from (this event's id, the handler's name, index), so a
   * redelivery re-appends the same ids and the store turns it into a no-op: a handler can never
   * produce a second effect. An append that fails (a version conflict) uses up no index: retried,
   * it appends under the same ids.
   */
  emit(streamId: string, events: readonly CausedEvent[], options?: { expectedVersion?: ExpectedVersion }): Promise<AppendResult>;
}

/** Reacts to one event. Throwing means "try again later"; after maxDeliver attempts the event is dead-lettered. */
export type EventHandler = (event: StoredEvent, context: HandlerContext) => Promise<void>;

/** One durable consumer: all instances of a service share it, so each event is handled once overall. */
export interface ConsumerOptions {
  /** Durable name, usually the service name (`analyzer`). Letters, digits, `-` and `_`. */
  readonly durable: string;
  /** Names this handler in derived event ids and spans (default: the durable name). */
  readonly handlerName?: string;
  /** Only these event types are handled (default: all). Others are acknowledged and skipped. */
  readonly types?: readonly string[];
  /** Where a consumer that does not exist yet starts: position 0 (default) or now. */
  readonly from?: 'start' | 'now';
  /** Attempts before an event is dead-lettered (default 5). */
  readonly maxDeliver?: number;
  /** Delay before each retry, by attempt; the last value repeats (default 100 ms, 500 ms, 2 s, 5 s). */
  readonly backoffMs?: readonly number[];
  /** JetStream: how long a delivery may stay unacknowledged before it is redelivered (default 30 s). */
  readonly ackWaitMs?: number;
  /** Events handled at the same time by this instance (default 1). */
  readonly concurrency?: number;
}

/** A running consumer. */
export interface Consumer {
  readonly durable: string;
  /** Stops taking new messages, lets handlers in flight finish, then resolves. */
  stop(): Promise<void>;
}

/** Delivers stored events to handlers: over JetStream, or over the store's own log when there is no NATS. */
export interface EventBus {
  readonly transport: 'jetstream' | 'store-log';
  consume(options: ConsumerOptions, handler: EventHandler): Promise<Consumer>;
  /** Stops every consumer started by this bus. */
  close(): Promise<void>;
}

/** Who is producing: goes into every event's metadata. */
export interface Producer {
  readonly service: string;
  readonly instance: string;
}
