// The webhook deploy adapter: stage changes go to the user's own delivery system (Argo Rollouts,
// Flagger, a CD pipeline...) as HMAC-SHA256-signed JSON POSTs; the counts the judge reads come
// from a counts source (ingest's per-release counts, or any endpoint returning the counts document).
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { CountsSnapshot } from '@antibody/domain';
import { DeployAdapterError, parseCounts, type DeployAdapter } from './deploy-adapter';

/** Header carrying `sha256=<hex HMAC of "<timestamp>.<body>">`. */
export const SIGNATURE_HEADER = 'x-antibody-signature';
/** Header carrying the unix timestamp (seconds) that was signed, against replays. */
export const TIMESTAMP_HEADER = 'x-antibody-timestamp';

/** Signs a body: `sha256=` + hex HMAC-SHA256 of `${timestamp}.${body}` under `secret`. */
export function signWebhook(secret: string, timestamp: number, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/**
 * Verifies a received webhook in constant time; false when the signature is wrong or the timestamp
 * is more than `toleranceSec` from `nowSec`. What a receiver (or the Argo/Flagger bridge) runs.
 */
export function verifyWebhook(secret: string, headers: { signature?: string; timestamp?: string }, body: string, nowSec: number, toleranceSec = 300): boolean {
  const ts = Number(headers.timestamp);
  if (!headers.signature || !Number.isFinite(ts) || Math.abs(nowSec - ts) > toleranceSec) return false;
  const expected = Buffer.from(signWebhook(secret, ts, body));
  const given = Buffer.from(headers.signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

export interface WebhookAdapterOptions {
  readonly url: string;
  readonly secret: string;
  readonly service: string;
  readonly incidentId: string;
  readonly patchId: string;
  readonly readCounts: () => Promise<CountsSnapshot>;
  readonly now?: () => number;
  /** The canary release, when the adapter is rebuilt for a rollout that already started. */
  readonly release?: string;
}

/** Sends `{type: 'canary.start'|'canary.stage'|'canary.rollback', ...}`; a non-2xx answer throws REFUSED. */
export class WebhookAdapter implements DeployAdapter {
  private release: string;
  constructor(private readonly options: WebhookAdapterOptions) {
    this.release = options.release ?? '';
  }

  private async send(type: string, extra: Record<string, unknown>): Promise<void> {
    const now = this.options.now ?? Date.now;
    const body = JSON.stringify({ type, service: this.options.service, incidentId: this.options.incidentId, patchId: this.options.patchId, release: this.release, at: new Date(now()).toISOString(), ...extra });
    const timestamp = Math.floor(now() / 1000);
    let response: Response;
    try {
      response = await fetch(this.options.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', [SIGNATURE_HEADER]: signWebhook(this.options.secret, timestamp, body), [TIMESTAMP_HEADER]: String(timestamp) },
        body,
        signal: AbortSignal.timeout(15_000),
      });
    } catch (error) {
      throw new DeployAdapterError('UNREACHABLE', `deploy webhook ${this.options.url} is unreachable: ${(error as Error).message}`, { cause: error });
    }
    if (!response.ok) throw new DeployAdapterError('REFUSED', `deploy webhook answered ${response.status} to ${type}`);
  }

  async startCanary(release: string): Promise<void> {
    this.release = release;
    await this.send('canary.start', { percent: 0 });
  }

  async setStage(percent: number): Promise<void> {
    await this.send('canary.stage', { percent });
  }

  async rollback(reason: string): Promise<void> {
    await this.send('canary.rollback', { percent: 0, reason });
  }

  async readCounts(): Promise<CountsSnapshot> {
    return parseCounts(await this.options.readCounts());
  }
}
