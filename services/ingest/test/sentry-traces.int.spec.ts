import { join } from 'node:path';
import { durationBucket } from '../src/domain/latency';
import { runApp } from './apps';
import { drained, envelope, registerService, startIngest, type TestIngest } from './support';

// A real HTTP service traced by the unmodified @sentry/node SDK (tracesSampleRate 1), DSN on
// ingest: its requests feed the per-release request counts and duration histogram — as
// `transaction` items (traceLifecycle "static") and as streamed `span` items (the SDK's default).
const APP = join(__dirname, 'apps', 'sentry-app');

interface ReleaseRow {
  release: string;
  environment: string;
  requests: number;
  request_errors: number;
  slower_than_100ms: number;
  histogram_total: number;
}

describe('Sentry traces feed the per-release request counts', () => {
  let ingest: TestIngest;

  beforeAll(async () => {
    ingest = await startIngest();
  });

  afterAll(async () => {
    await ingest.stop();
    await ingest.t.cleanup();
  });

  const releases = async (service: string): Promise<ReleaseRow[]> => {
    const { t } = ingest;
    const result = await t.pool.query<ReleaseRow>(
      `SELECT release, environment, sum(requests)::int AS requests, sum(request_errors)::int AS request_errors,
         sum((SELECT coalesce(sum(n), 0) FROM unnest(request_duration_histogram) WITH ORDINALITY AS u(n, i) WHERE i - 1 > $2))::int AS slower_than_100ms,
         sum((SELECT coalesce(sum(n), 0) FROM unnest(request_duration_histogram) AS n))::int AS histogram_total
       FROM "${t.schema}".ingest_release_counts WHERE service = $1 GROUP BY 1, 2 ORDER BY 1`,
      [service, durationBucket(100)],
    );
    return result.rows;
  };

  it('counts each traced request of the real SDK once, with its duration, release, environment and failure', async () => {
    const { t } = ingest;
    const service = await registerService(t.store, t.pool, t.schema);
    const dsn = `http://${service.key}@127.0.0.1:${ingest.port}/1`;

    const asTransactions = await runApp(APP, 'server.js', {
      SENTRY_DSN: dsn,
      APP_RELEASE: 'shop@2.0.0',
      APP_ENVIRONMENT: 'production',
      SENTRY_TRACE_LIFECYCLE: 'static',
      REQUESTS: JSON.stringify(['/fast', '/fast', '/fast', '/slow', '/boom']),
    });
    expect(asTransactions.stdout).toContain('statuses=200,200,200,200,500');
    expect(asTransactions.stdout).toContain('flushed=true');
    const asSpans = await runApp(APP, 'server.js', {
      SENTRY_DSN: dsn,
      APP_RELEASE: 'shop@2.0.1',
      APP_ENVIRONMENT: 'canary',
      REQUESTS: JSON.stringify(['/fast', '/slow', '/boom', '/boom', '/missing']),
    });
    expect(asSpans.stdout).toContain('statuses=200,200,500,500,404');
    expect(asSpans.stdout).toContain('flushed=true');
    await drained(t.pool, t.schema);

    expect(await releases(service.name)).toEqual([
      { release: 'shop@2.0.0', environment: 'production', requests: 5, request_errors: 1, slower_than_100ms: 1, histogram_total: 5 },
      // The 404 is a request but not a failure (the SDK marks it status "error"; its HTTP status decides).
      { release: 'shop@2.0.1', environment: 'canary', requests: 5, request_errors: 2, slower_than_100ms: 1, histogram_total: 5 },
    ]);

    // The same counts through the canary judge's read.
    const response = await fetch(
      `${ingest.url}/v1/releases/counts?${new URLSearchParams({ service: service.name, canary: 'shop@2.0.1', stable: 'shop@2.0.0', since: new Date(Date.now() - 3_600_000).toISOString() }).toString()}`,
      { headers: { authorization: `Bearer ${service.key}` } },
    );
    expect(await response.json()).toMatchObject({ canary: { requests: 5, errors: 2, slow: 0 }, stable: { requests: 5, errors: 1, slow: 0 }, slowThresholdMs: null });
  });

  it('stores a retried transaction envelope once', async () => {
    const { t } = ingest;
    const service = await registerService(t.store, t.pool, t.schema);
    const id = 'aa'.repeat(16);
    const body = envelope(
      { event_id: id, trace: { release: 'shop@9' } },
      [{ type: 'transaction' }, { event_id: id, type: 'transaction', release: 'shop@9', start_timestamp: 10, timestamp: 10.5, contexts: { trace: { status: 'internal_error' } } }],
    );
    for (let i = 0; i < 2; i++) {
      const answer = await fetch(`${ingest.url}/api/1/envelope/`, { method: 'POST', headers: { 'x-sentry-auth': `Sentry sentry_key=${service.key}` }, body });
      expect(answer.status).toBe(200);
    }
    await drained(t.pool, t.schema);
    expect(await releases(service.name)).toEqual([{ release: 'shop@9', environment: '', requests: 1, request_errors: 1, slower_than_100ms: 1, histogram_total: 1 }]);
  });
});
