/** The outcome of asking for a token. */
export type RateDecision = { allowed: true } | { allowed: false; retryAfterSeconds: number };

/**
 * Token buckets per key: each key may spend `perMinute` reports per minute, refilled continuously,
 * with bursts up to one minute's worth. Pure apart from the clock passed in (`nowMs`). Keys unused
 * for ten minutes are forgotten, so memory stays bounded by the active keys.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number; perMinute: number }>();
  private lastSweep = 0;

  take(key: string, perMinute: number, nowMs: number, cost = 1): RateDecision {
    this.sweep(nowMs);
    const bucket = this.buckets.get(key) ?? { tokens: perMinute, at: nowMs, perMinute };
    const ratePerMs = perMinute / 60_000;
    bucket.tokens = Math.min(perMinute, bucket.tokens + (nowMs - bucket.at) * ratePerMs);
    bucket.at = nowMs;
    bucket.perMinute = perMinute;
    this.buckets.set(key, bucket);
    if (bucket.tokens >= cost) {
      bucket.tokens -= cost;
      return { allowed: true };
    }
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((cost - bucket.tokens) / ratePerMs / 1000)) };
  }

  private sweep(nowMs: number): void {
    if (nowMs - this.lastSweep < 60_000) return;
    this.lastSweep = nowMs;
    for (const [key, bucket] of this.buckets) if (nowMs - bucket.at > 600_000) this.buckets.delete(key);
  }
}
