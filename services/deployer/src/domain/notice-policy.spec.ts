import { createHmac } from 'node:crypto';
import { decideSend, type ChannelEvent, EMPTY_CHANNEL, foldChannel, isDuplicate, noticeIdFor, standardWebhookHeaders, type NoticeRequest } from './notice-policy';

const notice = (i: number, at = '2026-01-01T00:00:00.000Z'): NoticeRequest => ({
  noticeId: noticeIdFor({ kind: 'escalated', incidentId: `inc-${i}`, title: 't', details: 'd' }),
  channel: 'webhook-x',
  kind: 'escalated',
  incidentId: `inc-${i}`,
  service: 'shop',
  title: `notice ${i}`,
  details: 'd',
  requestedAt: at,
});
let v = 0;
const requested = (n: NoticeRequest): ChannelEvent => ({ type: 'NoticeRequested', data: n, streamVersion: v++ });
const delivered = (ids: string[], at: number): ChannelEvent => ({ type: 'NoticeDelivered', data: { channel: 'webhook-x', deliveryId: ids[0]!, noticeIds: ids, digest: ids.length > 1, attempts: 1, deliveredAt: new Date(at).toISOString() }, streamVersion: v++ });
const rate = { maxPerWindow: 3, windowMs: 3600_000 };

describe('notice policy', () => {
  it('sends waiting notices alone while the window has room for all, then folds the rest into one digest', () => {
    const ns = [1, 2, 3, 4, 5].map((i) => notice(i));
    let state = foldChannel(EMPTY_CHANNEL, ns.map(requested));
    const sent: string[][] = [];
    for (let now = 1000; ; now += 1000) {
      const d = decideSend(state, now, rate);
      if (d.kind !== 'send') {
        expect(d).toEqual({ kind: 'idle' });
        break;
      }
      sent.push(d.notices.map((n) => n.noticeId));
      state = foldChannel(state, [delivered(d.notices.map((n) => n.noticeId), now)]);
    }
    expect(sent.map((s) => s.length)).toEqual([1, 1, 3]);
    expect(sent.flat()).toEqual(ns.map((n) => n.noticeId));
    const later = foldChannel(state, [requested(notice(6))]);
    expect(decideSend(later, 10_000, rate)).toEqual({ kind: 'wait', untilMs: 1000 + 3600_000 });
    expect(decideSend(later, 1000 + 3600_000, rate)).toMatchObject({ kind: 'send', digest: false });
  });

  it('deduplicates the same notice, and the same kind on the same incident within the window', () => {
    const n = notice(1, '2026-01-01T00:00:00.000Z');
    const state = foldChannel(EMPTY_CHANNEL, [requested(n)]);
    const t0 = Date.parse(n.requestedAt);
    expect(isDuplicate(state, n, t0 + 48 * 3600_000, 24 * 3600_000)).toBe(true);
    const other = { ...n, noticeId: noticeIdFor({ kind: 'escalated', incidentId: 'inc-1', title: 'other', details: 'd' }) };
    expect(isDuplicate(state, other, t0 + 3600_000, 24 * 3600_000)).toBe(true);
    expect(isDuplicate(state, other, t0 + 25 * 3600_000, 24 * 3600_000)).toBe(false);
    expect(isDuplicate(state, { ...other, kind: 'rolled-out' }, t0, 24 * 3600_000)).toBe(false);
  });

  it('signs as Standard Webhooks specifies (v1, base64 HMAC-SHA256 of id.timestamp.body, whsec_ key)', () => {
    const key = Buffer.from('a-32-byte-secret-for-the-signing');
    const secret = `whsec_${key.toString('base64')}`;
    const body = '{"type":"notice"}';
    const h = standardWebhookHeaders(secret, 'msg_1', 1_700_000_000, body);
    expect(h['webhook-id']).toBe('msg_1');
    expect(h['webhook-timestamp']).toBe('1700000000');
    // The spec's verification: decode the key after whsec_, sign `${id}.${timestamp}.${body}`, compare each `v1,` entry.
    const expected = createHmac('sha256', Buffer.from(secret.split('_')[1]!, 'base64')).update(`msg_1.1700000000.${body}`).digest('base64');
    expect(h['webhook-signature']!.split(' ')).toContain(`v1,${expected}`);
  });
});
