// Notifications on the moments a team cares about, to Slack incoming webhooks and generic webhooks,
// with 24 h dedup per (incident, kind) and a rate limit (10 per hour by default), as the roadmap asks.
export type NotificationKind = 'fix-proposed' | 'rolled-out' | 'rolled-back' | 'escalated' | 'budget-exceeded';

export interface Notification {
  readonly kind: NotificationKind;
  /** The incident it is about (dedup key); budget notices use a budget scope such as `daily`. */
  readonly incidentId: string;
  readonly service: string;
  readonly title: string;
  readonly details: string;
  readonly url?: string;
}

export interface NotifierOptions {
  readonly slackWebhookUrls: readonly string[];
  readonly genericWebhookUrls: readonly string[];
  readonly dedupWindowMs?: number;
  readonly maxPerHour?: number;
  readonly now?: () => number;
}

export type NotifyOutcome = { sent: true; deliveries: number; failures: string[] } | { sent: false; reason: 'duplicate' | 'rate-limited' };

const ICON: Record<NotificationKind, string> = {
  'fix-proposed': ':memo:',
  'rolled-out': ':white_check_mark:',
  'rolled-back': ':rewind:',
  escalated: ':rotating_light:',
  'budget-exceeded': ':money_with_wings:',
};

/** The Slack incoming-webhook payload: `text` (the fallback) and Block Kit `blocks`. */
export function slackPayload(n: Notification): Record<string, unknown> {
  const text = `${ICON[n.kind]} ${n.title}`;
  const blocks: Record<string, unknown>[] = [
    { type: 'section', text: { type: 'mrkdwn', text: `*${n.title}*\n${n.details}` } },
    { type: 'context', elements: [{ type: 'mrkdwn', text: `service \`${n.service}\` · incident \`${n.incidentId}\` · ${n.kind}` }] },
  ];
  if (n.url) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: `<${n.url}|Open>` } });
  return { text, blocks };
}

/**
 * Sends notifications. Dedup and rate limit are in memory per deployer instance (a restart forgets
 * them: at worst a repeat, never a loss). A notice that is a duplicate within the window, or over the
 * hourly limit, is not sent and says why. Delivery failures are reported, never thrown: telemetry of
 * this kind must not break a rollout.
 */
export class Notifier {
  private readonly lastSent = new Map<string, number>();
  private readonly sentAt: number[] = [];
  private readonly dedupWindowMs: number;
  private readonly maxPerHour: number;
  private readonly now: () => number;

  constructor(private readonly options: NotifierOptions) {
    this.dedupWindowMs = options.dedupWindowMs ?? 24 * 3600_000;
    this.maxPerHour = options.maxPerHour ?? 10;
    this.now = options.now ?? Date.now;
  }

  async notify(n: Notification): Promise<NotifyOutcome> {
    const now = this.now();
    const key = `${n.incidentId}:${n.kind}`;
    const last = this.lastSent.get(key);
    if (last !== undefined && now - last < this.dedupWindowMs) return { sent: false, reason: 'duplicate' };
    while (this.sentAt.length > 0 && now - (this.sentAt[0] as number) >= 3600_000) this.sentAt.shift();
    if (this.sentAt.length >= this.maxPerHour) return { sent: false, reason: 'rate-limited' };
    this.lastSent.set(key, now);
    this.sentAt.push(now);
    const posts = [
      ...this.options.slackWebhookUrls.map((url) => [url, slackPayload(n)] as const),
      ...this.options.genericWebhookUrls.map((url) => [url, { ...n, at: new Date(now).toISOString() }] as const),
    ];
    const failures: string[] = [];
    await Promise.all(
      posts.map(async ([url, payload]) => {
        try {
          const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(payload), signal: AbortSignal.timeout(10_000) });
          if (!response.ok) failures.push(`${url}: ${response.status}`);
        } catch (error) {
          failures.push(`${url}: ${(error as Error).message}`);
        }
      }),
    );
    return { sent: true, deliveries: posts.length - failures.length, failures };
  }
}
