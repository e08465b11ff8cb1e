import { EventContractError } from './errors';

/** First token of every subject Antibody publishes on NATS. */
export const SUBJECT_PREFIX = 'antibody';

/** Stream categories of the catalog: the text before the first `-` of a stream id. */
export type EventCategory = 'service' | 'incident' | 'pattern' | 'fleet' | 'deadletter' | 'notice' | 'token';

/**
 * The category of a stream: the text before its first `-` (`incident-4f2a` -> `incident`,
 * `service-shop-api` -> `service`). A stream id without `-` is its own category. Never throws.
 */
export function categoryOf(streamId: string): string {
  const dash = streamId.indexOf('-');
  return dash === -1 ? streamId : streamId.slice(0, dash);
}

/**
 * The stream id `<category>-<id>` (`streamIdFor('incident', id)` -> `incident-<id>`), so that
 * {@link categoryOf} gives the category back. Throws {@link EventContractError} `INVALID_SUBJECT`
 * when the category is empty or contains `-`, or the id is empty.
 */
export function streamIdFor(category: string, id: string): string {
  if (category === '' || category.includes('-')) {
    throw new EventContractError('INVALID_SUBJECT', `stream category "${category}" must be non-empty and contain no "-"`);
  }
  if (id === '') throw new EventContractError('INVALID_SUBJECT', `stream id for category "${category}" must not be empty`);
  return `${category}-${id}`;
}

const SUBJECT_TOKEN = /^[^\s.*>]+$/;

/**
 * The NATS subject of an event: `antibody.<category>.<type>` (e.g. `antibody.incident.IncidentOpened`).
 * Throws {@link EventContractError} `INVALID_SUBJECT` when either part is empty or holds a character
 * NATS reserves in subject tokens (`.`, `*`, `>`, whitespace).
 */
export function subjectFor(category: string, type: string): string {
  for (const [name, token] of [['category', category], ['type', type]] as const) {
    if (!SUBJECT_TOKEN.test(token)) {
      throw new EventContractError('INVALID_SUBJECT', `subject ${name} "${token}" must be non-empty and contain no ".", "*", ">" or whitespace`);
    }
  }
  return `${SUBJECT_PREFIX}.${category}.${type}`;
}
