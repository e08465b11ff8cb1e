import type { PoolClient } from 'pg';
import { categoryOf } from '@antibody/contracts';
import type { AppendResult, EventStore, ExpectedVersion, NewEvent } from '@antibody/event-store';
import { withProducerSpan } from '@antibody/telemetry';
import type { CausedEvent, Producer } from './types';

export interface TracedAppendOptions {
  readonly producer: Producer;
  /** The incident (or other root) the events belong to. */
  readonly correlationId: string;
  /** The event that caused these, or null for a root (an HTTP request, a CLI command). */
  readonly causationId: string | null;
  /** Explicit event ids (deterministic ones in handlers); random when absent. */
  readonly eventIds?: readonly string[];
  readonly expectedVersion?: ExpectedVersion;
  /** Append inside the caller's transaction. */
  readonly client?: PoolClient;
}

/**
 * Appends events under a producer span ("send <category>"), writing the span's W3C context into
 * each event's metadata: that is how one trace follows an incident through every service.
 */
export function appendTraced(
  store: EventStore,
  streamId: string,
  events: readonly CausedEvent[],
  options: TracedAppendOptions,
): Promise<AppendResult> {
  const first = events[0];
  return withProducerSpan(
    {
      system: 'antibody_store',
      destination: categoryOf(streamId),
      messageId: options.eventIds?.[0] ?? '',
      eventType: first?.type ?? '',
      streamId,
    },
    (carrier) => {
      const occurredAt = new Date().toISOString();
      const stamped: NewEvent[] = events.map((event, index) => ({
        eventId: options.eventIds?.[index],
        type: event.type,
        data: event.data,
        metadata: {
          correlationId: options.correlationId,
          causationId: options.causationId,
          ...(carrier.traceparent ? { traceparent: carrier.traceparent } : {}),
          ...(carrier.tracestate ? { tracestate: carrier.tracestate } : {}),
          producer: { service: options.producer.service, instance: options.producer.instance },
          occurredAt,
        },
      }));
      return store.appendToStream(streamId, stamped, { expectedVersion: options.expectedVersion, client: options.client });
    },
  );
}
