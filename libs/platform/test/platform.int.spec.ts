import { createServer, type AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import type { INestApplication } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import type { NatsConnection } from '@nats-io/nats-core';
import { tracer } from '@antibody/telemetry';
import { memoryTelemetry, resetTelemetryForTests } from '@antibody/telemetry/testing';
import { waitFor } from '@antibody/testing';
import type { Pool } from 'pg';
import {
  baseServiceConfigSchema,
  ConnectError,
  connectNats,
  connectPostgres,
  createPlatformApp,
  createPlatformLogger,
  HealthChecks,
  loadConfig,
  MetricsService,
  NATS_CONNECTION,
  NatsHealthIndicator,
  PG_POOL,
  PlatformModule,
  PostgresHealthIndicator,
  traceLogMixin,
  type PlatformLog,
} from '@antibody/platform';

const DATABASE_URL = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const NATS_URL = process.env['NATS_URL'] ?? 'nats://127.0.0.1:4222';

/** A stream that keeps every JSON log line written to it. */
function logCapture(): { stream: Writable; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  const lines = (): Record<string, unknown>[] =>
    chunks
      .join('')
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  return { stream, lines };
}

function recordingLog(): PlatformLog & { lines: string[] } {
  const lines: string[] = [];
  return { lines, info: (m) => lines.push(m), warn: (m) => lines.push(m), error: (m) => lines.push(m) };
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('PlatformModule in a running Nest app (real Postgres and NATS)', () => {
  const logs = logCapture();
  let app: INestApplication;
  let baseUrl: string;

  beforeAll(async () => {
    const config = loadConfig(
      baseServiceConfigSchema,
      { DATABASE_URL, NATS_URL, SERVICE_INSTANCE_ID: 'int-1' },
      'ingest',
    );
    const logger = createPlatformLogger({ service: 'ingest', instanceId: 'int-1', level: 'info', destination: logs.stream });
    // No connections are passed in: the module opens them itself, with retry.
    app = await createPlatformApp(PlatformModule.forRoot({ service: 'ingest', config, logger }));
    await app.listen(0, '127.0.0.1');
    baseUrl = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await app?.close();
  });

  it('GET /health answers 200 with Postgres and NATS up', async () => {
    const res = await fetch(`${baseUrl}/health`);
    const body = (await res.json()) as { status: string; details: Record<string, { status: string }> };
    expect(res.status).toBe(200);
    expect(body.status).toBe('ok');
    expect(body.details['postgres']).toEqual({ status: 'up' });
    expect(body.details['nats']).toMatchObject({ status: 'up', server: expect.any(String), rttMs: expect.any(Number) });
  });

  it('GET /health/live and /health/ready answer 200 with Postgres and NATS up', async () => {
    const live = await fetch(`${baseUrl}/health/live`);
    expect(live.status).toBe(200);
    expect(await live.json()).toEqual({ status: 'ok', uptimeSeconds: expect.any(Number) });
    const ready = await fetch(`${baseUrl}/health/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ok', details: { postgres: { status: 'up' }, nats: { status: 'up' } } });
  });

  it("GET /health answers 503 while a check the service added reports down, with its message, and 200 again once it is up", async () => {
    let state: { up: boolean; message?: string } = { up: false, message: 'worker restarting' };
    app.get(HealthChecks).add('worker', () => state);
    const down = await fetch(`${baseUrl}/health`);
    expect(down.status).toBe(503);
    expect(((await down.json()) as { details: Record<string, unknown> }).details['worker']).toEqual({ status: 'down', message: 'worker restarting' });
    expect((await fetch(`${baseUrl}/health/ready`)).status).toBe(503);
    expect((await fetch(`${baseUrl}/health/live`)).status).toBe(200);
    state = { up: true };
    const up = await fetch(`${baseUrl}/health`);
    expect(up.status).toBe(200);
    expect(((await up.json()) as { details: Record<string, unknown> }).details['worker']).toEqual({ status: 'up' });
  });

  it('GET /metrics serves the standard process_/nodejs_ metrics, request timings and metrics added by other modules', async () => {
    app.get(MetricsService).counter({ name: 'antibody_int_things_total', help: 'Things counted by the spec.' }).inc(3);
    await fetch(`${baseUrl}/health`);
    const res = await fetch(`${baseUrl}/metrics`);
    const text = await res.text();
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    // Standard names, so stock Node.js dashboards work.
    expect(text).toMatch(/^process_cpu_user_seconds_total\{service="antibody-ingest",service_instance="int-1"\} /m);
    expect(text).toMatch(/^process_resident_memory_bytes\{/m);
    expect(text).toMatch(/^nodejs_heap_size_used_bytes\{/m);
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds\{/m);
    expect(text).not.toMatch(/^antibody_(process|nodejs)_/m);
    expect(text).toMatch(
      /^antibody_http_request_duration_seconds_count\{service="antibody-ingest",service_instance="int-1",method="GET",route="\/health",status_code="200"\} [1-9]/m,
    );
    expect(text).toMatch(/^antibody_int_things_total\{service="antibody-ingest",service_instance="int-1"\} 3$/m);
  });

  it('GET /metrics: no series carries a label Prometheus reserves (instance, job)', async () => {
    const text = await (await fetch(`${baseUrl}/metrics`)).text();
    const series = text.split('\n').filter((line) => line !== '' && !line.startsWith('#'));
    expect(series.length).toBeGreaterThan(20);
    for (const line of series) {
      const labels = [...(/^[^{ ]+\{(.*)\} /.exec(line)?.[1] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="/g)].map((m) => m[1]);
      expect({ line, reserved: labels.filter((l) => l === 'instance' || l === 'job') }).toEqual({ line, reserved: [] });
    }
    expect(() => app.get(MetricsService).counter({ name: 'antibody_int_bad_total', help: 'x', labelNames: ['instance'] })).toThrow(/may not use the label\(s\) instance/);
  });

  it('logs requests as JSON without credentials, bodies or query strings', async () => {
    const res = await fetch(`${baseUrl}/no-such-route?sentry_key=abc123`, {
      method: 'POST',
      headers: {
        authorization: 'Bearer s3cret',
        'x-sentry-auth': 'Sentry sentry_key=abc123',
        cookie: 'session=s3cret',
        'content-type': 'application/json',
        'x-request-id': 'req-int-1',
      },
      body: JSON.stringify({ password: 'hunter2' }),
    });
    expect(res.status).toBe(404);
    const line = logs.lines().find((l) => l['reqId'] === 'req-int-1');
    expect(line).toMatchObject({
      level: 'warn',
      service: 'antibody-ingest',
      instance: 'int-1',
      req: { method: 'POST', url: '/no-such-route' },
      res: { statusCode: 404 },
    });
    const headers = (line?.['req'] as { headers: Record<string, string> }).headers;
    expect(headers['authorization']).toBe('[redacted]');
    expect(headers['x-sentry-auth']).toBe('[redacted]');
    expect(headers['cookie']).toBe('[redacted]');
    const raw = JSON.stringify(logs.lines());
    expect(raw).not.toContain('s3cret');
    expect(raw).not.toContain('abc123');
    expect(raw).not.toContain('hunter2');
  });

  it('on close, drains NATS and ends the pool', async () => {
    const nats = app.get<NatsConnection>(NATS_CONNECTION);
    const pool = app.get<Pool>(PG_POOL);
    await app.close();
    expect(nats.isClosed()).toBe(true);
    expect(pool.ended).toBe(true);
  });
});

describe('readiness without NATS (real Postgres, a NATS connection that has closed)', () => {
  async function appWith(readyNeeds?: ReadonlyArray<'postgres' | 'nats'>): Promise<{ app: INestApplication; url: string }> {
    const config = loadConfig(baseServiceConfigSchema, { DATABASE_URL, NATS_URL, SERVICE_INSTANCE_ID: 'int-ready' }, 'ingest');
    const nats = await connectNats(NATS_URL, { service: 'ingest', log: recordingLog() });
    await nats.close();
    const logger = createPlatformLogger({ service: 'ingest', instanceId: 'int-ready', level: 'warn', destination: logCapture().stream });
    const app = await createPlatformApp(PlatformModule.forRoot({ service: 'ingest', config, logger, nats, ...(readyNeeds ? { readyNeeds } : {}) }));
    await app.listen(0, '127.0.0.1');
    return { app, url: `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}` };
  }

  it('with readyNeeds [postgres] (ingest): ready and live answer 200, /health 503, and NATS is shown down', async () => {
    const { app, url } = await appWith(['postgres']);
    try {
      const ready = await fetch(`${url}/health/ready`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toMatchObject({ status: 'ok', info: { postgres: { status: 'up' } }, error: { nats: { status: 'down', message: 'connection closed' } } });
      expect((await fetch(`${url}/health/live`)).status).toBe(200);
      expect((await fetch(`${url}/health`)).status).toBe(503);
    } finally {
      await app.close();
    }
  });

  it('by default (the other services): not ready while NATS is down, but live', async () => {
    const { app, url } = await appWith();
    try {
      const ready = await fetch(`${url}/health/ready`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toMatchObject({ status: 'error', error: { nats: { status: 'down' } } });
      expect((await fetch(`${url}/health/live`)).status).toBe(200);
    } finally {
      await app.close();
    }
  });
});

describe('health indicators', () => {
  const indicators = new HealthIndicatorService();

  it('report NATS down for a closed connection and up for an open one', async () => {
    const nc = await connectNats(NATS_URL, { service: 'ingest', log: recordingLog() });
    try {
      expect(await new NatsHealthIndicator(indicators, nc).isHealthy()).toMatchObject({ nats: { status: 'up' } });
    } finally {
      await nc.close();
    }
    expect(await new NatsHealthIndicator(indicators, nc).isHealthy()).toEqual({
      nats: { status: 'down', message: 'connection closed' },
    });
  });

  it('report NATS up as "embedded" when the service runs without NATS', async () => {
    expect(await new NatsHealthIndicator(indicators, null).isHealthy()).toEqual({
      nats: { status: 'up', mode: 'embedded' },
    });
  });

  it('report Postgres down with the reason once its pool is gone', async () => {
    const pool = await connectPostgres(DATABASE_URL, { service: 'ingest', log: recordingLog() });
    expect(await new PostgresHealthIndicator(indicators, pool).isHealthy()).toEqual({ postgres: { status: 'up' } });
    await pool.end();
    expect(await new PostgresHealthIndicator(indicators, pool).isHealthy()).toMatchObject({
      postgres: { status: 'down', message: expect.stringMatching(/pool/i) },
    });
  });
});

describe('connecting with retry', () => {
  it('keeps the pool usable after Postgres drops its connections, logging instead of crashing', async () => {
    const log = recordingLog();
    const pool = await connectPostgres(DATABASE_URL, { service: 'int-restart', log });
    const admin = await connectPostgres(DATABASE_URL, { service: 'int-admin', log: recordingLog() });
    try {
      await pool.query('SELECT 1'); // leaves an idle client in the pool
      await admin.query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'antibody-int-restart'",
      );
      await waitFor(() => log.lines.some((l) => l.includes('lost an idle Postgres connection')), {
        timeoutMs: 5_000,
        description: 'the idle-client error to be logged',
      });
      expect((await pool.query<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    } finally {
      await Promise.all([pool.end(), admin.end()]);
    }
  });

  it('survives Postgres dropping a connection that is checked out (a held session lock): its next query fails, the pool goes on', async () => {
    const pool = await connectPostgres(DATABASE_URL, { service: 'int-held', log: recordingLog() });
    const admin = await connectPostgres(DATABASE_URL, { service: 'int-admin', log: recordingLog() });
    try {
      const held = await pool.connect();
      await held.query('SELECT pg_try_advisory_lock(42)');
      // What a Postgres restart does to every backend: FATAL 57P01 on the held connection.
      await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'antibody-int-held'");
      await expect(held.query('SELECT 1')).rejects.toThrow();
      held.release(true);
      expect((await pool.query<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    } finally {
      await Promise.all([pool.end(), admin.end()]);
    }
  });

  it('logs one line per failed Postgres attempt, then gives up with a ConnectError', async () => {
    const port = await closedPort();
    const log = recordingLog();
    const attempt = connectPostgres(`postgres://postgres:pw@127.0.0.1:${port}/postgres`, {
      service: 'analyzer',
      log,
      maxAttempts: 3,
    });
    await expect(attempt).rejects.toMatchObject({ name: 'ConnectError', code: 'CONNECT_FAILED' });
    expect(log.lines).toEqual([
      `antibody-analyzer: cannot reach Postgres at 127.0.0.1:${port} (ECONNREFUSED); retrying in 0.5s`,
      `antibody-analyzer: cannot reach Postgres at 127.0.0.1:${port} (ECONNREFUSED); retrying in 1s`,
      `antibody-analyzer: cannot reach Postgres at 127.0.0.1:${port} (ECONNREFUSED); giving up after 3 attempts`,
    ]);
  });

  it('retries NATS until aborted', async () => {
    const port = await closedPort();
    const log = recordingLog();
    const abort = new AbortController();
    const attempt = connectNats(`nats://127.0.0.1:${port}`, { service: 'patcher', log, signal: abort.signal });
    const rejected = expect(attempt).rejects.toBeInstanceOf(ConnectError);
    await waitFor(() => log.lines.length > 0, { timeoutMs: 5_000, description: 'a retry line' });
    abort.abort();
    await rejected;
    expect(log.lines[0]).toMatch(new RegExp(`^antibody-patcher: cannot reach NATS at 127\\.0\\.0\\.1:${port} \\(.+\\); retrying in 0\\.5s$`));
  });
});

describe('trace ids in logs', () => {
  afterAll(() => resetTelemetryForTests());

  it('adds trace_id and span_id of the active span, and nothing outside a span', () => {
    memoryTelemetry('antibody-ingest', 'int-1');
    const logs = logCapture();
    const logger = createPlatformLogger({ service: 'ingest', instanceId: 'int-1', level: 'info', destination: logs.stream });
    expect(traceLogMixin()).toEqual({});
    tracer().startActiveSpan('ingest request', (span) => {
      const { traceId, spanId } = span.spanContext();
      expect(traceLogMixin()).toEqual({ trace_id: traceId, span_id: spanId });
      logger.info('inside');
      span.end();
    });
    logger.info('outside');
    const [inside, outside] = logs.lines();
    expect(inside).toMatchObject({ msg: 'inside', trace_id: expect.stringMatching(/^[0-9a-f]{32}$/), span_id: expect.any(String) });
    expect(outside).not.toHaveProperty('trace_id');
  });
});
