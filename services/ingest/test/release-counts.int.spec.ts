import { randomBytes } from 'node:crypto';
import { waitFor } from '@antibody/testing';
import { bucketUpperBoundMs, durationBucket } from '../src/domain/latency';
import { drained, registerService, startIngest, type TestIngest } from './support';

interface Span {
  ms: number;
  status?: number;
  httpStatus?: number;
}

/** An OTLP/HTTP JSON trace export of server spans of one release, each lasting `ms`. */
function traces(service: string, release: string, spans: readonly Span[], environment = 'production'): string {
  const now = BigInt(Date.now()) * 1_000_000n;
  return JSON.stringify({
    resourceSpans: [
      {
        resource: {
          attributes: [
            { key: 'service.name', value: { stringValue: service } },
            { key: 'service.version', value: { stringValue: release } },
            { key: 'deployment.environment.name', value: { stringValue: environment } },
          ],
        },
        scopeSpans: [
          {
            spans: spans.map((span) => ({
              traceId: randomBytes(16).toString('hex'),
              spanId: randomBytes(8).toString('hex'),
              name: 'GET /cart',
              kind: 2,
              startTimeUnixNano: String(now - BigInt(Math.round(span.ms * 1e6))),
              endTimeUnixNano: String(now),
              status: { code: span.status ?? 0 },
              attributes: span.httpStatus ? [{ key: 'http.response.status_code', value: { intValue: span.httpStatus } }] : [],
            })),
          },
        ],
      },
    ],
  });
}

const times = (n: number, span: Span): Span[] => Array.from({ length: n }, () => ({ ...span }));

interface Counts {
  canary: { requests: number; errors: number; slow: number };
  stable: { requests: number; errors: number; slow: number };
  since: string;
  slowThresholdMs: number | null;
}

// GET /v1/releases/counts, the read the deployer's canary judge makes, on counts of real OTLP spans.
describe('GET /v1/releases/counts', () => {
  let ingest: TestIngest;
  // One-second buckets, so the test can put traffic before and after `since` quickly.
  const BUCKET_SECONDS = 1;

  beforeAll(async () => {
    ingest = await startIngest({ INGEST_BUCKET_SECONDS: BUCKET_SECONDS });
  });

  afterAll(async () => {
    await ingest.stop();
    await ingest.t.cleanup();
  });

  const report = async (key: string, body: string): Promise<void> => {
    const response = await fetch(`${ingest.url}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-antibody-key': key }, body });
    expect(response.status).toBe(200);
  };
  const counts = (query: Record<string, string>, headers: Record<string, string>) => fetch(`${ingest.url}/v1/releases/counts?${new URLSearchParams(query).toString()}`, { headers });
  /** Resolves once the clock is in a later count bucket than `at` (so `now` starts a new window). */
  const nextBucket = (at: number) =>
    waitFor(() => Math.floor(Date.now() / (BUCKET_SECONDS * 1000)) > Math.floor(at / (BUCKET_SECONDS * 1000)), { timeoutMs: 5000, intervalMs: 20, description: 'the next count bucket' });

  it('counts requests, failed and slow requests of the canary and the stable release since a time, growing as traffic arrives', async () => {
    const { t } = ingest;
    const service = await registerService(t.store, t.pool, t.schema);
    const auth = { authorization: `Bearer ${service.key}` };

    // Before the rollout: the stable release answers in 10 ms (95 %) or 14 ms; an older release is slower and ignored.
    await report(service.key, traces(service.name, 'shop@1.0.0', [...times(95, { ms: 10 }), ...times(5, { ms: 14 })]));
    await report(service.key, traces(service.name, 'shop@0.9.0', times(50, { ms: 900 })));
    await drained(t.pool, t.schema);
    await nextBucket(Date.now());
    const since = new Date().toISOString();

    const empty = await counts({ service: service.name, canary: 'shop@1.1.0', stable: 'shop@1.0.0', since }, auth);
    expect(empty.status).toBe(200);
    const threshold = bucketUpperBoundMs(durationBucket(10));
    expect(await empty.json()).toEqual({ canary: { requests: 0, errors: 0, slow: 0 }, stable: { requests: 0, errors: 0, slow: 0 }, since, slowThresholdMs: threshold });

    // During the rollout: half the canary's requests take 200 ms, four fail; the stable release stays fast.
    await report(
      service.key,
      traces(service.name, 'shop@1.1.0', [...times(10, { ms: 8 }), ...times(7, { ms: 200 }), ...times(2, { ms: 200, status: 2 }), { ms: 200, httpStatus: 503 }, { ms: 8, httpStatus: 404 }]),
    );
    await report(service.key, traces(service.name, 'shop@1.0.0', [...times(28, { ms: 9 }), ...times(2, { ms: 30, status: 2 })]));
    await report(service.key, traces(service.name, 'shop@1.1.0', times(5, { ms: 500 }), 'staging'));
    await drained(t.pool, t.schema);

    const first = (await (await counts({ service: service.name, canary: 'shop@1.1.0', stable: 'shop@1.0.0', since, environment: 'production' }, auth)).json()) as Counts;
    expect(first).toEqual({ canary: { requests: 21, errors: 3, slow: 10 }, stable: { requests: 30, errors: 2, slow: 2 }, since, slowThresholdMs: threshold });
    const allEnvironments = (await (await counts({ service: service.name, canary: 'shop@1.1.0', stable: 'shop@1.0.0', since }, { 'x-antibody-key': service.key })).json()) as Counts;
    expect(allEnvironments.canary).toEqual({ requests: 26, errors: 3, slow: 15 });

    // More traffic later only adds: the counts never go backwards.
    await nextBucket(Date.now());
    await report(service.key, traces(service.name, 'shop@1.1.0', [{ ms: 300 }, { ms: 2 }]));
    await drained(t.pool, t.schema);
    const later = (await (await counts({ service: service.name, canary: 'shop@1.1.0', stable: 'shop@1.0.0', since, environment: 'production' }, auth)).json()) as Counts;
    expect(later.canary).toEqual({ requests: 23, errors: 3, slow: 11 });
    expect(later.stable).toEqual(first.stable);

    // With no traffic in the ten minutes before `since` there is no threshold: nothing is slow.
    const old = (await (await counts({ service: service.name, canary: 'shop@1.1.0', stable: 'shop@1.0.0', since: '2020-01-01T00:00:00Z' }, auth)).json()) as Counts;
    expect(old).toEqual({ canary: { requests: 28, errors: 3, slow: 0 }, stable: { requests: 130, errors: 2, slow: 0 }, since: '2020-01-01T00:00:00.000Z', slowThresholdMs: null });
  });

  it('answers a missing or bad parameter with 400 naming it', async () => {
    const { t } = ingest;
    const service = await registerService(t.store, t.pool, t.schema);
    const auth = { 'x-antibody-key': service.key };
    const good = { service: service.name, canary: 'a@2', stable: 'a@1', since: '2026-01-01T10:00:00Z' };
    const expect400 = async (query: Record<string, string>, code: string, detail: RegExp) => {
      const response = await counts(query, auth);
      expect(response.status).toBe(400);
      const body = (await response.json()) as { error: string; detail: string };
      expect(body.error).toBe(code);
      expect(body.detail).toMatch(detail);
    };
    for (const name of ['service', 'canary', 'stable', 'since'] as const) {
      const { [name]: _left, ...rest } = good;
      await expect400(rest, 'missing_parameter', new RegExp(`\\b${name}\\b`));
    }
    await expect400({ ...good, since: 'yesterday' }, 'invalid_parameter', /since/);
    await expect400({ ...good, since: '2026-01-01T10:00:00' }, 'invalid_parameter', /since.*zone/);
    await expect400({ ...good, since: '2026-13-45T10:00:00Z' }, 'invalid_parameter', /since/);
    await expect400({ ...good, stable: 'a@2' }, 'invalid_parameter', /canary and stable/);
    await expect400({ ...good, environment: '' }, 'invalid_parameter', /environment/);
    expect((await counts({ ...good, since: '2026-01-01T12:00:00+02:00' }, auth)).status).toBe(200);
  });

  it('is authenticated like the native API: 401 without a key, 403 for an unknown key or another service', async () => {
    const { t } = ingest;
    const mine = await registerService(t.store, t.pool, t.schema);
    const theirs = await registerService(t.store, t.pool, t.schema);
    const query = { service: mine.name, canary: 'a@2', stable: 'a@1', since: '2026-01-01T10:00:00Z' };
    const missing = await counts(query, {});
    expect(missing.status).toBe(401);
    expect(await missing.json()).toMatchObject({ error: 'missing_key' });
    const unknown = await counts(query, { authorization: `Bearer ${randomBytes(16).toString('hex')}` });
    expect(unknown.status).toBe(403);
    expect(await unknown.json()).toMatchObject({ error: 'unknown_key' });
    const other = await counts(query, { 'x-antibody-key': theirs.key });
    expect(other.status).toBe(403);
    expect(((await other.json()) as { detail: string }).detail).toContain(theirs.name);
    expect((await counts(query, { 'x-antibody-key': mine.key })).status).toBe(200);
    const post = await fetch(`${ingest.url}/v1/releases/counts`, { method: 'POST', headers: { 'x-antibody-key': mine.key }, body: '{}' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET');
  });
});
