// The pure part of the notice outbox: the state of one channel (folded from its `notice-<channel>`
// stream), when to send what (alone, or folded into a digest over the hourly rate), the
// deterministic ids, and Standard Webhooks signing.
import { createHmac } from 'node:crypto';
import { v5 as uuidv5 } from 'uuid';
import type { EventData, RecordedEvent } from '@antibody/contracts';

export type NoticeRequest = EventData<'NoticeRequested'>;

/** What one channel's stream says: notices waiting, when deliveries were made (the rate window). */
export interface ChannelState {
  /** The stream's version (-1: no stream). */
  readonly version: number;
  /** Notices asked for and neither delivered nor failed, in request order. */
  readonly pending: readonly NoticeRequest[];
  /** Every notice ever asked for on this channel, with when (dedup). */
  readonly requested: ReadonlyMap<string, NoticeRequest>;
  /** When each delivery (a notice or a digest) was made, ms since epoch, ascending. */
  readonly deliveredAt: readonly number[];
}

export const EMPTY_CHANNEL: ChannelState = { version: -1, pending: [], requested: new Map(), deliveredAt: [] };

/** What the fold reads of a stored event, still discriminated by `type`. */
export type ChannelEvent = RecordedEvent extends infer E ? (E extends RecordedEvent ? Pick<E, 'type' | 'data' | 'streamVersion'> : never) : never;

/** Folds events of a channel stream (in version order) onto a state; other types are skipped. Pure. */
export function foldChannel(state: ChannelState, events: readonly ChannelEvent[]): ChannelState {
  return events.reduce(evolveChannel, state);
}

function evolveChannel(state: ChannelState, e: ChannelEvent): ChannelState {
  const version = e.streamVersion;
  switch (e.type) {
    case 'NoticeRequested': {
      const requested = new Map(state.requested).set(e.data.noticeId, e.data);
      return { ...state, version, requested, pending: [...state.pending, e.data] };
    }
    case 'NoticeDelivered':
    case 'NoticeFailed': {
      const done = new Set(e.data.noticeIds);
      const pending = state.pending.filter((n) => !done.has(n.noticeId));
      const deliveredAt = e.type === 'NoticeDelivered' ? [...state.deliveredAt, Date.parse(e.data.deliveredAt)] : state.deliveredAt;
      return { ...state, version, pending, deliveredAt };
    }
    default:
      return { ...state, version };
  }
}

/**
 * Whether a notice is a repeat: the same notice (same id) was asked for before, or one of the same
 * kind about the same incident (or budget key) within the dedup window.
 */
export function isDuplicate(state: ChannelState, n: Pick<NoticeRequest, 'noticeId' | 'kind' | 'incidentId'>, now: number, dedupWindowMs: number): boolean {
  if (state.requested.has(n.noticeId)) return true;
  for (const r of state.requested.values()) {
    if (r.kind === n.kind && r.incidentId === n.incidentId && now - Date.parse(r.requestedAt) < dedupWindowMs) return true;
  }
  return false;
}

export interface RatePolicy {
  readonly maxPerWindow: number;
  readonly windowMs: number;
}

export type SendDecision =
  | { readonly kind: 'idle' }
  | { readonly kind: 'wait'; readonly untilMs: number }
  | { readonly kind: 'send'; readonly notices: readonly NoticeRequest[]; readonly digest: boolean };

/**
 * What to send next on a channel. Never more than `maxPerWindow` deliveries in any window: with
 * room for every waiting notice, the oldest goes alone; when the waiting notices outnumber the
 * deliveries left in the window, the last one left carries all of them as one digest; with none
 * left, wait until the oldest delivery in the window leaves it. Nothing is dropped. Pure.
 */
export function decideSend(state: ChannelState, now: number, rate: RatePolicy): SendDecision {
  if (state.pending.length === 0) return { kind: 'idle' };
  const inWindow = state.deliveredAt.filter((t) => now - t < rate.windowMs);
  const room = rate.maxPerWindow - inWindow.length;
  if (room <= 0) return { kind: 'wait', untilMs: Math.min(...inWindow) + rate.windowMs };
  if (state.pending.length <= room || room > 1 || state.pending.length === 1) return { kind: 'send', notices: [state.pending[0]!], digest: false };
  return { kind: 'send', notices: state.pending, digest: true };
}

/** Exponential backoff before attempt `attempt + 1` (attempt 1 failed: `baseMs`), capped. */
export function backoffMs(attempt: number, baseMs: number, capMs: number): number {
  return Math.min(capMs, baseMs * 2 ** Math.max(0, attempt - 1));
}

// Fixed namespaces: the same cause gives the same ids on every machine.
const NOTICE_NAMESPACE = '3a9e0c52-7d41-5b8f-9e26-1c4d8b7f0a13';

/** The id of a notice, from its cause (or, without one, from what it says). */
export function noticeIdFor(n: { kind: string; incidentId: string; title: string; details: string; causeId?: string }): string {
  return uuidv5([n.kind, n.incidentId, n.causeId ?? `${n.title}\u0000${n.details}`].join('\u0000'), NOTICE_NAMESPACE);
}

/** The id of the NoticeRequested event of a notice on a channel: a repeated ask appends nothing. */
export function requestEventIdFor(noticeId: string, channel: string): string {
  return uuidv5(`${noticeId}|${channel}|requested`, NOTICE_NAMESPACE);
}

/** The `webhook-id` of a delivery: the same on every attempt and after a restart. */
export function deliveryIdFor(channel: string, noticeIds: readonly string[]): string {
  return uuidv5(`${channel}|${noticeIds.join(',')}`, NOTICE_NAMESPACE);
}

/** The id of the event recording a delivery's outcome: recording it twice appends nothing. */
export function outcomeEventIdFor(deliveryId: string): string {
  return uuidv5(`${deliveryId}|outcome`, NOTICE_NAMESPACE);
}

/** The W3C trace id in a `traceparent`, if well formed. */
export function traceIdOf(traceparent: string | undefined): string | undefined {
  const m = traceparent ? /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/.exec(traceparent) : null;
  return m?.[1];
}

/**
 * Standard Webhooks signing (https://www.standardwebhooks.com): the key is the base64 after
 * `whsec_`; the signature is base64 HMAC-SHA256 of `<webhook-id>.<webhook-timestamp>.<body>`,
 * sent as `webhook-signature: v1,<signature>`.
 */
export function standardWebhookHeaders(secret: string, id: string, timestampSec: number, body: string): Record<string, string> {
  const key = Buffer.from(secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret, 'base64');
  const signature = createHmac('sha256', key).update(`${id}.${timestampSec}.${body}`).digest('base64');
  return { 'webhook-id': id, 'webhook-timestamp': String(timestampSec), 'webhook-signature': `v1,${signature}` };
}
