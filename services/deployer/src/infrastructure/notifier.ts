// Notices on the moments a team cares about, to Slack incoming webhooks and generic webhooks, never
// lost: `notify` records a NoticeRequested event on each channel's `notice-<channel>` stream (the
// outbox; deterministic ids, 24 h dedup per incident and kind), and one delivery loop per store
// (the instance holding a Postgres advisory lock) sends them, retrying with backoff, folding what
// is over the hourly rate into a digest, and recording NoticeDelivered or NoticeFailed.
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { Logger } from '@nestjs/common';
import type { PoolClient } from 'pg';
import type { EventStore } from '@antibody/event-store';
import { WrongExpectedVersionError } from '@antibody/event-store';
import {
  backoffMs,
  decideSend,
  deliveryIdFor,
  EMPTY_CHANNEL,
  foldChannel,
  isDuplicate,
  noticeIdFor,
  outcomeEventIdFor,
  requestEventIdFor,
  standardWebhookHeaders,
  traceIdOf,
  type ChannelState,
  type NoticeRequest,
} from '../domain/notice-policy';

export type NotificationKind = 'fix-proposed' | 'rolled-out' | 'rolled-back' | 'escalated' | 'budget-exceeded';

export interface Notification {
  readonly kind: NotificationKind;
  /** The incident it is about (dedup key); budget notices use a budget key such as `budget-daily-shop`. */
  readonly incidentId: string;
  readonly service: string;
  readonly title: string;
  readonly details: string;
  readonly url?: string;
  /** The event that caused the notice: the same cause never asks twice. */
  readonly causeId?: string;
  /** The incident the notice links to when `incidentId` is a budget key. */
  readonly linkIncidentId?: string;
  /** The W3C trace id; looked up from the incident's first event when absent. */
  readonly traceId?: string;
}

export interface NotifierOptions {
  readonly slackWebhookUrls: readonly string[];
  readonly genericWebhookUrls: readonly string[];
  /** Standard Webhooks secret (`whsec_<base64>`) signing generic webhooks. */
  readonly webhookSecret?: string;
  /** Base URL of the console: every notice links to `<consoleUrl>/incidents/<id>`. */
  readonly consoleUrl?: string;
  readonly dedupWindowMs?: number;
  /** Deliveries per channel per window (default 10 per hour); more are folded into a digest. */
  readonly maxPerHour?: number;
  readonly windowMs?: number;
  /** Attempts per delivery before NoticeFailed (default 6), backoff from retryBaseMs (default 2 s) doubling up to retryCapMs (5 min). */
  readonly maxAttempts?: number;
  readonly retryBaseMs?: number;
  readonly retryCapMs?: number;
  readonly timeoutMs?: number;
  /** How often a follower retries taking the delivery lock (default 5 s). */
  readonly lockRetryMs?: number;
  readonly now?: () => number;
}

export type NotifyOutcome = { recorded: true; noticeId: string } | { recorded: false; reason: 'duplicate' | 'no-channels' };

interface Channel {
  readonly id: string;
  readonly url: string;
  readonly type: 'slack' | 'webhook';
}

const ICON: Record<NotificationKind, string> = {
  'fix-proposed': ':memo:',
  'rolled-out': ':white_check_mark:',
  'rolled-back': ':rewind:',
  escalated: ':rotating_light:',
  'budget-exceeded': ':money_with_wings:',
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function contextLine(n: NoticeRequest): string {
  const incident = n.linkIncidentId ?? n.incidentId;
  const parts = [`service \`${n.service}\``, n.link ? `<${n.link}|incident \`${incident}\`>` : `incident \`${incident}\``, n.kind];
  if (n.traceId) parts.push(`trace \`${n.traceId}\``);
  return parts.join(' · ');
}

/** The Slack incoming-webhook payload of one notice: `text` (the fallback) and Block Kit `blocks`. */
export function slackPayload(n: NoticeRequest): Record<string, unknown> {
  const blocks: Record<string, unknown>[] = [
    { type: 'section', text: { type: 'mrkdwn', text: `*${n.title}*\n${n.details}` } },
    { type: 'context', elements: [{ type: 'mrkdwn', text: contextLine(n) }] },
  ];
  if (n.url) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: `<${n.url}|Open>` } });
  return { text: `${ICON[n.kind]} ${n.title}`, blocks };
}

/** The Slack payload of a digest: one line per folded notice, each with its incident link. */
export function slackDigestPayload(notices: readonly NoticeRequest[]): Record<string, unknown> {
  const text = `:inbox_tray: ${notices.length} notices (over the hourly rate)`;
  const lines = notices.map((n) => `${ICON[n.kind]} *${n.title}* — ${contextLine(n)}`);
  return { text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text: `*${text}*\n${lines.join('\n')}` } }] };
}

function genericNotice(n: NoticeRequest): Record<string, unknown> {
  const { channel: _channel, ...rest } = n;
  return rest;
}

/**
 * Records notices and delivers them from that outbox. Call `attach(store)` then `start()` (the
 * deployer module does); `notify` only records, so a rollout never waits on a receiver.
 */
export class Notifier {
  private readonly log = new Logger('Notifier');
  private readonly channels: readonly Channel[];
  private readonly states = new Map<string, ChannelState>();
  /** Failed attempts so far and when to try again, by the oldest waiting notice of a channel. */
  private readonly retries = new Map<string, { attempts: number; atMs: number }>();
  private readonly now: () => number;
  private store?: EventStore;
  private loop?: Promise<void>;
  private stopped = false;
  private lock?: PoolClient;
  private wakeUp?: () => void;
  private unlisten?: () => void;
  private readonly instance = `${hostname()}-${process.pid}`;

  constructor(private readonly options: NotifierOptions) {
    this.now = options.now ?? Date.now;
    const channel = (type: Channel['type'], url: string): Channel => ({ type, url, id: `${type}-${createHash('sha256').update(url).digest('hex').slice(0, 16)}` });
    this.channels = [...options.slackWebhookUrls.map((u) => channel('slack', u)), ...options.genericWebhookUrls.map((u) => channel('webhook', u))];
  }

  /** The store notices are recorded in (the outbox). */
  attach(store: EventStore): this {
    this.store = store;
    return this;
  }

  /** Starts the delivery loop (it delivers while this instance holds the lock). */
  start(): void {
    if (this.loop || this.channels.length === 0) return;
    const store = this.required();
    this.stopped = false;
    this.unlisten = store.onAppended(() => this.wake());
    this.loop = this.run().catch((error: unknown) => this.log.error(`notice delivery loop stopped: ${(error as Error).message}`));
  }

  /** Stops the loop after the delivery in flight and gives the lock back. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.unlisten?.();
    this.wake();
    await this.loop;
    this.loop = undefined;
    await this.unlock();
  }

  /** Records the notice on every channel (a repeat within the dedup window, or of the same cause, records nothing). */
  async notify(n: Notification): Promise<NotifyOutcome> {
    const store = this.required();
    if (this.channels.length === 0) return { recorded: false, reason: 'no-channels' };
    const noticeId = noticeIdFor(n);
    const linkIncidentId = n.linkIncidentId ?? (n.kind === 'budget-exceeded' ? undefined : n.incidentId);
    const traceId = n.traceId ?? (linkIncidentId ? await this.traceOf(linkIncidentId) : undefined);
    const now = this.now();
    let recorded = false;
    for (const channel of this.channels) {
      const data: NoticeRequest = {
        noticeId,
        channel: channel.id,
        kind: n.kind,
        incidentId: n.incidentId,
        service: n.service,
        title: n.title,
        details: n.details,
        ...(n.url ? { url: n.url } : {}),
        ...(linkIncidentId && this.options.consoleUrl ? { link: `${this.options.consoleUrl.replace(/\/+$/, '')}/incidents/${encodeURIComponent(linkIncidentId)}` } : {}),
        ...(linkIncidentId ? { linkIncidentId } : {}),
        ...(traceId ? { traceId } : {}),
        requestedAt: new Date(now).toISOString(),
      };
      for (let attempt = 0; ; attempt++) {
        const state = await this.refresh(channel.id);
        if (isDuplicate(state, data, now, this.options.dedupWindowMs ?? 24 * 3600_000)) break;
        try {
          const metadata = { correlationId: linkIncidentId ?? n.incidentId, causationId: n.causeId && UUID.test(n.causeId) ? n.causeId : null, producer: { service: 'deployer', instance: this.instance }, occurredAt: data.requestedAt };
          const result = await store.appendToStream(`notice-${channel.id}`, [{ eventId: requestEventIdFor(noticeId, channel.id), type: 'NoticeRequested', data, metadata }], { expectedVersion: state.version === -1 ? 'no-stream' : state.version });
          recorded = recorded || !result.duplicate;
          break;
        } catch (error) {
          if (!(error instanceof WrongExpectedVersionError) || attempt >= 10) throw error;
        }
      }
    }
    this.wake();
    return recorded ? { recorded: true, noticeId } : { recorded: false, reason: 'duplicate' };
  }

  private required(): EventStore {
    if (!this.store) throw new Error('the notifier has no store: call attach(store) first');
    return this.store;
  }

  private async traceOf(incidentId: string): Promise<string | undefined> {
    if (!UUID.test(incidentId)) return undefined;
    try {
      const { events } = await this.required().readStream(`incident-${incidentId}`, { toVersion: 0 });
      return traceIdOf(events[0]?.metadata.traceparent);
    } catch {
      return undefined;
    }
  }

  /** The channel's state, read on from the version already folded. */
  private async refresh(channel: string): Promise<ChannelState> {
    const known = this.states.get(channel) ?? EMPTY_CHANNEL;
    const { events } = await this.required().readStream(`notice-${channel}`, { fromVersion: known.version + 1 });
    const next = foldChannel(known, events);
    const latest = this.states.get(channel) ?? EMPTY_CHANNEL;
    if (next.version >= latest.version) this.states.set(channel, next);
    return this.states.get(channel)!;
  }

  private wake(): void {
    this.wakeUp?.();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakeUp = undefined;
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      this.wakeUp = done;
    });
  }

  /** One sender per store: a session advisory lock on a dedicated connection. */
  private async tryLock(): Promise<boolean> {
    const store = this.required();
    const client = await store.pool.connect();
    try {
      const { rows } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock(hashtext($1)) AS ok', [`${store.schema}:notice-delivery`]);
      if (!rows[0]?.ok) {
        client.release();
        return false;
      }
    } catch (error) {
      client.release(error as Error);
      throw error;
    }
    client.on('error', () => {
      if (this.lock === client) this.lock = undefined;
    });
    this.lock = client;
    return true;
  }

  private async unlock(): Promise<void> {
    const client = this.lock;
    this.lock = undefined;
    if (!client) return;
    try {
      await client.query('SELECT pg_advisory_unlock(hashtext($1))', [`${this.required().schema}:notice-delivery`]);
      client.release();
    } catch (error) {
      client.release(error as Error);
    }
  }

  private async run(): Promise<void> {
    const rate = { maxPerWindow: this.options.maxPerHour ?? 10, windowMs: this.options.windowMs ?? 3600_000 };
    while (!this.stopped) {
      try {
        if (!this.lock && !(await this.tryLock())) {
          await this.sleep(this.options.lockRetryMs ?? 5000);
          continue;
        }
        let nextMs = this.now() + 30_000;
        for (const channel of this.channels) {
          if (this.stopped) break;
          const state = await this.refresh(channel.id);
          const decision = decideSend(state, this.now(), rate);
          if (decision.kind === 'wait') nextMs = Math.min(nextMs, decision.untilMs);
          if (decision.kind !== 'send') continue;
          const retry = this.retries.get(decision.notices[0]!.noticeId);
          if (retry && retry.atMs > this.now()) {
            nextMs = Math.min(nextMs, retry.atMs);
            continue;
          }
          await this.deliver(channel, decision.notices, decision.digest, retry?.attempts ?? 0);
          nextMs = this.now();
        }
        if (!this.stopped) await this.sleep(nextMs - this.now());
      } catch (error) {
        this.log.warn(`notice delivery: ${(error as Error).message}; trying again`);
        await this.unlock();
        if (!this.stopped) await this.sleep(1000);
      }
    }
  }

  private async deliver(channel: Channel, notices: readonly NoticeRequest[], digest: boolean, failedBefore: number): Promise<void> {
    const noticeIds = notices.map((n) => n.noticeId);
    const deliveryId = deliveryIdFor(channel.id, noticeIds);
    const attempts = failedBefore + 1;
    const error = await this.post(channel, deliveryId, notices, digest);
    const key = noticeIds[0]!;
    const metadata = { correlationId: notices[0]!.linkIncidentId ?? notices[0]!.incidentId, causationId: null, producer: { service: 'deployer', instance: this.instance }, occurredAt: new Date(this.now()).toISOString() };
    const stream = `notice-${channel.id}`;
    if (!error) {
      this.retries.delete(key);
      await this.required().appendToStream(stream, [{ eventId: outcomeEventIdFor(deliveryId), type: 'NoticeDelivered', data: { channel: channel.id, deliveryId, noticeIds, digest, attempts, deliveredAt: metadata.occurredAt }, metadata }]);
      return;
    }
    if (attempts >= (this.options.maxAttempts ?? 6)) {
      this.retries.delete(key);
      this.log.warn(`notice ${deliveryId} to ${channel.id} failed after ${attempts} attempts: ${error}`);
      await this.required().appendToStream(stream, [{ eventId: outcomeEventIdFor(deliveryId), type: 'NoticeFailed', data: { channel: channel.id, deliveryId, noticeIds, digest, attempts, error: error.slice(0, 500) }, metadata }]);
      return;
    }
    this.retries.set(key, { attempts, atMs: this.now() + backoffMs(attempts, this.options.retryBaseMs ?? 2000, this.options.retryCapMs ?? 300_000) });
  }

  /** Posts one delivery; the failure's reason, or undefined when the channel accepted it. */
  private async post(channel: Channel, deliveryId: string, notices: readonly NoticeRequest[], digest: boolean): Promise<string | undefined> {
    const at = new Date(this.now()).toISOString();
    const payload =
      channel.type === 'slack'
        ? digest
          ? slackDigestPayload(notices)
          : slackPayload(notices[0]!)
        : digest
          ? { type: 'digest', id: deliveryId, count: notices.length, notices: notices.map(genericNotice), at }
          : { type: 'notice', id: deliveryId, ...genericNotice(notices[0]!), at };
    const body = JSON.stringify(payload);
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (channel.type === 'webhook') {
      const timestamp = Math.floor(Date.now() / 1000);
      Object.assign(headers, this.options.webhookSecret ? standardWebhookHeaders(this.options.webhookSecret, deliveryId, timestamp, body) : { 'webhook-id': deliveryId, 'webhook-timestamp': String(timestamp) });
    }
    try {
      const response = await fetch(channel.url, { method: 'POST', headers, body, signal: AbortSignal.timeout(this.options.timeoutMs ?? 10_000) });
      return response.ok ? undefined : `${response.status} ${response.statusText}`.trim();
    } catch (error) {
      return (error as Error).message;
    }
  }
}
