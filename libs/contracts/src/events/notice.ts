import { z } from 'zod';
import { text } from '../primitives';

const noticeKind = z.enum(['fix-proposed', 'rolled-out', 'rolled-back', 'escalated', 'budget-exceeded']);
const channel = text.describe('The channel: `slack-<hash>` or `webhook-<hash>` of its URL (the URL itself is never recorded).');

export const noticeRequested = z.object({
  noticeId: z.uuid().describe('Derived from the notice\'s cause: asking again for the same notice gives the same id.'),
  channel,
  kind: noticeKind,
  incidentId: text.describe('The incident it is about, or the dedup key of a budget notice (`budget-<scope>-<service>`).'),
  service: text,
  title: text,
  details: z.string(),
  url: z.string().optional().describe('A related page, e.g. the pull request.'),
  link: z.string().optional().describe('The incident in the console (DEPLOYER_CONSOLE_URL/incidents/<id>).'),
  linkIncidentId: text.optional().describe('The incident the link and the text refer to, when `incidentId` is a budget key.'),
  traceId: z.string().regex(/^[0-9a-f]{32}$/).optional().describe('The W3C trace id of the incident, where known.'),
  requestedAt: z.iso.datetime(),
});

export const noticeDelivered = z.object({
  channel,
  deliveryId: z.uuid().describe('The `webhook-id` of the delivery, the same on every attempt.'),
  noticeIds: z.array(z.uuid()).min(1).describe('The notices it carried: one, or several folded into a digest.'),
  digest: z.boolean(),
  attempts: z.number().int().positive(),
  deliveredAt: z.iso.datetime(),
});

export const noticeFailed = z.object({
  channel,
  deliveryId: z.uuid(),
  noticeIds: z.array(z.uuid()).min(1),
  digest: z.boolean(),
  attempts: z.number().int().positive(),
  error: text,
});

/** Data schemas of the `notice-<channel>` stream, by event type: the outbox of notices. */
export const noticeEventSchemas = {
  NoticeRequested: noticeRequested,
  NoticeDelivered: noticeDelivered,
  NoticeFailed: noticeFailed,
} as const;
