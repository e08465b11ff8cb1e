import type { EventData, EventType } from './events';
import type { EventMetadata } from './metadata';

/**
 * An event as stored: immutable, hash-chained within its stream. The envelope every reader sees,
 * whatever transport delivered it (`envelopeSchemaFor` is its runtime schema).
 */
export interface StoredEvent<Type extends string = string, Data = unknown> {
  readonly eventId: string;
  readonly type: Type;
  readonly schemaVersion: number;
  readonly data: Data;
  readonly streamId: string;
  /** 0-based position within the stream. */
  readonly streamVersion: number;
  /** Unique, increasing within a transaction; read order is (transactionId, globalPosition). Digits. */
  readonly globalPosition: string;
  /** The appending transaction's id (xid8), digits. */
  readonly transactionId: string;
  readonly metadata: EventMetadata;
  /** ISO-8601, set by the store at append. */
  readonly recordedAt: string;
  readonly prevHash: string;
  readonly hash: string;
}

/**
 * A stored event of the catalog, discriminated by `type`, its data typed by the contract at the
 * current schema version: `RecordedEvent<'PatchProposed'>` carries PatchProposed's data, and a
 * `RecordedEvent` narrows with `if (e.type === 'PatchProposed')`. The event store's `readStream`
 * and `@OnEvent` handlers hand events out as this type: both validate (or were validated at append)
 * and upcast the data, so the type is the truth, not a cast.
 */
export type RecordedEvent<T extends EventType = EventType> = { [K in T]: StoredEvent<K, EventData<K>> }[T];

/**
 * A type guard for one or more event types, for `find` and `filter` over a stream:
 * `events.filter(isEvent('PatchProposed'))` is a `RecordedEvent<'PatchProposed'>[]`.
 */
export function isEvent<T extends EventType>(...types: readonly T[]): <E extends { readonly type: string }>(event: E) => event is Extract<E, { readonly type: T }> {
  const wanted = new Set<string>(types);
  return <E extends { readonly type: string }>(event: E): event is Extract<E, { readonly type: T }> => wanted.has(event.type);
}
