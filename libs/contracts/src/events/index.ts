import type { z } from 'zod';
import { deadLetterEventSchemas } from './deadletter';
import { fleetEventSchemas } from './fleet';
import { incidentEventSchemas } from './incident';
import { noticeEventSchemas } from './notice';
import { operatorIncidentEventSchemas, tokenEventSchemas } from './operator';
import { patternEventSchemas } from './pattern';
import { serviceEventSchemas } from './service';

export { deadLetterEventSchemas, fleetEventSchemas, incidentEventSchemas, noticeEventSchemas, operatorIncidentEventSchemas, patternEventSchemas, serviceEventSchemas, tokenEventSchemas };

type EventsOf<M extends Record<string, z.ZodType>> = {
  [K in keyof M & string]: { type: K; data: z.infer<M[K]> };
}[keyof M & string];

/** Events of a `service-<name>` stream: registration, policy and ingest keys. */
export type ServiceEvent = EventsOf<typeof serviceEventSchemas>;
/** Events of an `incident-<id>` stream: the whole healing loop of one incident. */
export type IncidentEvent = EventsOf<typeof incidentEventSchemas & typeof operatorIncidentEventSchemas>;
/** Events of a `pattern-<id>` stream: a learned fix pattern's life. */
export type PatternEvent = EventsOf<typeof patternEventSchemas>;
/** Events of a `fleet-<service>` stream: traffic changes asked of a fleet host agent, and what it did and counted. */
export type FleetEvent = EventsOf<typeof fleetEventSchemas>;
/** Events of a `deadletter-<consumer>` stream. */
export type DeadLetterEvent = EventsOf<typeof deadLetterEventSchemas>;
/** Events of a `notice-<channel>` stream: notices asked for, delivered (alone or in a digest) or failed. */
export type NoticeEvent = EventsOf<typeof noticeEventSchemas>;
/** Events of a `token-<tokenId>` stream: an operator token created or revoked. */
export type TokenEvent = EventsOf<typeof tokenEventSchemas>;

/** Every event of the catalog as a `{ type, data }` pair, discriminated by `type` (current schema versions). */
export type AntibodyEvent = ServiceEvent | IncidentEvent | PatternEvent | FleetEvent | DeadLetterEvent | NoticeEvent | TokenEvent;
/** The name of an event type of the catalog. */
export type EventType = AntibodyEvent['type'];
/** The data of event type `T` at its current schema version, e.g. `EventData<'IncidentOpened'>`. */
export type EventData<T extends EventType> = Extract<AntibodyEvent, { type: T }>['data'];

/**
 * The runtime data schema of every event type at its current schema version, by type. Each
 * schema's `parse` throws a zod error on invalid data; prefer `eventCatalog.validate` or
 * `parseEventData` for readable failures.
 */
export const eventSchemas: { readonly [K in EventType]: z.ZodType<EventData<K>> } = {
  ...serviceEventSchemas,
  ...incidentEventSchemas,
  ...patternEventSchemas,
  ...fleetEventSchemas,
  ...deadLetterEventSchemas,
  ...noticeEventSchemas,
  ...operatorIncidentEventSchemas,
  ...tokenEventSchemas,
};
