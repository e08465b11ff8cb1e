import { v5 as uuidv5 } from 'uuid';
import type { PoolClient } from 'pg';
import { DEAD_LETTER_PAYLOAD_MAX_CHARS, eventCatalog, eventMetadataSchema } from '@antibody/contracts';
import { compareCheckpoints, deterministicEventId, type Checkpoint, type EventStore, type StoredEvent } from '@antibody/event-store';
import { withConsumerSpan } from '@antibody/telemetry';
import { appendTraced } from './append';
import type { BusMetrics } from './metrics';
import type { ResolvedConsumerOptions } from './options';
import type { EventHandler, HandlerContext, Producer } from './types';

/** What the transport must do with the message after handling. */
export type Disposition = { kind: 'ack' } | { kind: 'retry'; delayMs: number; error: unknown } | { kind: 'dead-lettered'; reason: string };

export interface Delivery {
  /** The message as received (JSON text of a stored event). */
  readonly raw: string;
  readonly deliveryCount: number;
  /** A client in the transaction the transport commits (store-log transport). */
  readonly client?: PoolClient;
  /** Messaging system, for the consumer span. */
  readonly system: 'nats' | 'antibody_store';
  readonly destination: string;
}

export interface HandlingSettings {
  readonly store: EventStore;
  readonly producer: Producer;
  readonly durable: string;
  readonly handlerName: string;
  readonly types: ReadonlySet<string> | undefined;
  readonly maxDeliver: number;
  readonly backoffMs: readonly number[];
  readonly handler: EventHandler;
  /** Events at or before this position were already handled by the store catch-up. */
  readonly skipUpTo?: Checkpoint;
  /** Counts each delivery's outcome (deliveries, redeliveries). */
  readonly metrics?: BusMetrics;
}

/** The handling settings of a consumer, from its resolved options. */
export function handlingSettings(resolved: ResolvedConsumerOptions, store: EventStore, producer: Producer, handler: EventHandler, metrics?: BusMetrics): HandlingSettings {
  return {
    metrics,
    store,
    producer,
    durable: resolved.durable,
    handlerName: resolved.handlerName,
    types: resolved.types,
    maxDeliver: resolved.maxDeliver,
    backoffMs: resolved.backoffMs,
    handler,
  };
}

const RAW_NAMESPACE = '3f0e9a52-7c1d-5b8e-9f64-1a2b3c4d5e6f';

/**
 * The one place a delivered message becomes a handler call, for every transport: decode,
 * validate against the catalog, skip types the consumer does not want, run the handler in a
 * consumer span, and decide ack / retry with backoff / dead-letter. Never throws for a bad
 * message or a failing handler; only a failure to write the dead-letter event propagates.
 */
export async function handleDelivery(delivery: Delivery, settings: HandlingSettings): Promise<Disposition> {
  const disposition = await dispose(delivery, settings);
  settings.metrics?.delivered(settings.durable, delivery.deliveryCount, disposition);
  return disposition;
}

async function dispose(delivery: Delivery, settings: HandlingSettings): Promise<Disposition> {
  const decoded = decode(delivery.raw);
  if (!decoded.ok) return deadLetter(settings, delivery, decoded.reason, decoded.partial);
  const event = decoded.event;
  if (settings.types && !settings.types.has(event.type)) return { kind: 'ack' };
  if (settings.skipUpTo && compareCheckpoints({ transactionId: event.transactionId, position: event.globalPosition }, settings.skipUpTo) <= 0) {
    return { kind: 'ack' };
  }
  if (delivery.deliveryCount > settings.maxDeliver) {
    return deadLetter(settings, delivery, `gave up after ${settings.maxDeliver} deliveries`, event);
  }
  let emitted = 0;
  const context: HandlerContext = {
    deliveryCount: delivery.deliveryCount,
    emit: async (streamId, events, options) => {
      // Ids advance only with a successful append: an append refused for its expected version
      // wrote nothing, so the decision handleCommand retries appends under the same ids.
      const eventIds = events.map((_, index) => deterministicEventId(event.eventId, settings.handlerName, emitted + index));
      const result = await appendTraced(settings.store, streamId, events, {
        producer: settings.producer,
        correlationId: event.metadata.correlationId,
        causationId: event.eventId,
        eventIds,
        expectedVersion: options?.expectedVersion,
        client: delivery.client,
      });
      emitted += events.length;
      return result;
    },
  };
  try {
    await withConsumerSpan(
      {
        system: delivery.system,
        destination: delivery.destination,
        messageId: event.eventId,
        eventType: event.type,
        streamId: event.streamId,
        consumerGroup: settings.durable,
      },
      event.metadata,
      () => settings.handler(event, context),
    );
    return { kind: 'ack' };
  } catch (error) {
    if (delivery.deliveryCount >= settings.maxDeliver) {
      return deadLetter(settings, delivery, `handler failed ${delivery.deliveryCount} times: ${describe(error)}`, event);
    }
    const delays = settings.backoffMs;
    const delayMs = delays[Math.min(delivery.deliveryCount - 1, delays.length - 1)] ?? 1000;
    return { kind: 'retry', delayMs, error };
  }
}

type Decoded = { ok: true; event: StoredEvent } | { ok: false; reason: string; partial?: Partial<StoredEvent> };

function decode(raw: string): Decoded {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (error) {
    return { ok: false, reason: `message is not JSON: ${describe(error)}` };
  }
  if (typeof parsed !== 'object' || parsed === null) return { ok: false, reason: 'message is not a JSON object' };
  const candidate = parsed as Partial<StoredEvent>;
  for (const field of ['eventId', 'type', 'streamId'] as const) {
    if (typeof candidate[field] !== 'string') return { ok: false, reason: `schema: ${field} is missing`, partial: candidate };
  }
  if (typeof candidate.schemaVersion !== 'number') return { ok: false, reason: 'schema: schemaVersion is missing', partial: candidate };
  const metadata = eventMetadataSchema.safeParse(candidate.metadata);
  if (!metadata.success) {
    const issue = metadata.error.issues[0];
    return { ok: false, reason: `schema: metadata.${(issue?.path ?? []).join('.')}: ${issue?.message ?? 'invalid'}`, partial: candidate };
  }
  const verdict = eventCatalog.validate(candidate.type as string, candidate.schemaVersion, candidate.data);
  if (!verdict.ok) return { ok: false, reason: `schema: ${verdict.message}`, partial: candidate };
  // Handlers always see the current version of an event's data.
  const current = eventCatalog.upcast(candidate.type as string, candidate.schemaVersion, candidate.data);
  return { ok: true, event: { ...(candidate as StoredEvent), schemaVersion: current.schemaVersion, data: current.data } };
}

async function deadLetter(settings: HandlingSettings, delivery: Delivery, reason: string, original?: Partial<StoredEvent>): Promise<Disposition> {
  const originalEventId = isUuid(original?.eventId) ? original.eventId : uuidv5(delivery.raw, RAW_NAMESPACE);
  const correlation = typeof original?.metadata?.correlationId === 'string' ? original.metadata.correlationId : originalEventId;
  await appendTraced(
    settings.store,
    `deadletter-${settings.durable}`,
    [
      {
        type: 'MessageDeadLettered',
        data: {
          consumer: settings.durable,
          originalEventId,
          originalType: typeof original?.type === 'string' && original.type ? original.type : 'unknown',
          originalStreamId: typeof original?.streamId === 'string' && original.streamId ? original.streamId : 'unknown',
          reason: reason.slice(0, 2000),
          deliveryCount: Math.max(1, delivery.deliveryCount),
          payload: delivery.raw.slice(0, DEAD_LETTER_PAYLOAD_MAX_CHARS),
        },
      },
    ],
    {
      producer: settings.producer,
      correlationId: correlation,
      causationId: isUuid(original?.eventId) ? original.eventId : null,
      eventIds: [deterministicEventId(originalEventId, `deadletter:${settings.durable}`)],
      client: delivery.client,
    },
  );
  return { kind: 'dead-lettered', reason };
}

function isUuid(value: unknown): value is string {
  return typeof value === 'string' && /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value);
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
