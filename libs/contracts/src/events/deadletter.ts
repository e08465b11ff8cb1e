import { z } from 'zod';
import { text } from '../primitives';

/** Longest raw payload a dead-letter event keeps; producers truncate to this. */
export const DEAD_LETTER_PAYLOAD_MAX_CHARS = 16_384;

export const messageDeadLettered = z.object({
  consumer: text.describe('The durable consumer that gave up on the message.'),
  originalEventId: z.uuid(),
  originalType: text,
  originalStreamId: text,
  reason: text,
  deliveryCount: z.number().int().positive(),
  payload: z.string().max(DEAD_LETTER_PAYLOAD_MAX_CHARS).optional().describe('The raw message text, truncated to DEAD_LETTER_PAYLOAD_MAX_CHARS characters.'),
});

/** Data schemas of the `deadletter-<consumer>` stream, by event type. */
export const deadLetterEventSchemas = {
  MessageDeadLettered: messageDeadLettered,
} as const;
