import { z } from 'zod';

/** Metadata every stored event carries. */
export interface EventMetadata {
  /** The incident (or other root) this event belongs to. */
  correlationId: string;
  /** eventId of the event that caused this one; null for a root. */
  causationId: string | null;
  /** W3C trace context `traceparent` header value. */
  traceparent?: string;
  /** W3C trace context `tracestate` header value. */
  tracestate?: string;
  /** The service and the instance of it that appended the event. */
  producer: { service: string; instance: string };
  /** When the fact happened, ISO-8601 UTC (`...Z`). */
  occurredAt: string;
}

const TRACEPARENT = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

/**
 * Runtime schema of {@link EventMetadata}. Guarantees: `correlationId` non-empty; `causationId` a
 * uuid (an eventId) or null; `traceparent` in W3C format when present; `producer.service` and
 * `producer.instance` non-empty; `occurredAt` an ISO-8601 UTC timestamp. Unknown keys are kept
 * (passthrough) so later metadata does not break older readers. Fails with a zod error naming the
 * first bad field.
 */
export const eventMetadataSchema: z.ZodType<EventMetadata> = z
  .looseObject({
    correlationId: z.string().min(1).describe('The incident (or other root) this event belongs to.'),
    causationId: z.uuid().nullable().describe('eventId of the event that caused this one; null for a root.'),
    traceparent: z.string().regex(TRACEPARENT, 'expected a W3C traceparent (00-<32 hex>-<16 hex>-<2 hex>)').optional(),
    tracestate: z.string().max(512).optional(),
    producer: z.looseObject({ service: z.string().min(1), instance: z.string().min(1) }),
    occurredAt: z.iso.datetime().describe('When the fact happened (the store adds recordedAt).'),
  })
  .meta({ description: 'Metadata every stored event carries.' });
