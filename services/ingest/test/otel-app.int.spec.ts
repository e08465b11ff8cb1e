import { join } from 'node:path';
import { waitFor } from '@antibody/testing';
import { buildApp, runApp } from './apps';
import { drained, incidentsOf, registerService, startIngest, type TestIngest } from './support';

// A real Node app with the OpenTelemetry SDK: traces over OTLP/HTTP protobuf, logs over OTLP/HTTP
// JSON. The exception (on the span and in the log record) must open one incident with TypeScript
// frames, release, environment and scrubbed data; server spans feed the per-release request counts.
const APP = join(__dirname, 'apps', 'otel-app');

describe('a real OpenTelemetry SDK app exporting to ingest', () => {
  let ingest: TestIngest;

  beforeAll(async () => {
    buildApp(APP, ['inventory.ts']);
    ingest = await startIngest();
  });

  afterAll(async () => {
    await ingest.stop();
    await ingest.t.cleanup();
  });

  it('groups the span exception and the log exception into one incident and counts the requests', async () => {
    const { t } = ingest;
    const service = await registerService(t.store, t.pool, t.schema, { repository: APP, sourceMaps: 'build' });
    const run = await runApp(APP, 'main.js', { OTLP_ENDPOINT: ingest.url, INGEST_KEY: service.key, SERVICE_NAME: service.name, APP_RELEASE: 'inventory@3.1.0' });
    expect({ stdout: run.stdout, stderr: run.stderr }).toEqual({ stdout: 'exported\n', stderr: '' });
    await waitFor(async () => Number((await t.pool.query(`SELECT count(*) AS n FROM "${t.schema}".ingest_intake_ids WHERE service = $1`, [service.name])).rows[0].n) >= 3, {
      timeoutMs: 15_000,
      description: 'the span exception, the log exception and the request counts to be stored',
    });
    await drained(t.pool, t.schema);

    const incidents = await incidentsOf(t.store, t.pool, t.schema, service.name);
    expect(incidents.size).toBe(1);
    const events = [...incidents.values()][0]!;
    expect(events.map((e) => e.type).filter((type) => type !== 'OccurrencesCounted')).toEqual(['IncidentOpened', 'ErrorRecorded', 'ErrorRecorded']);
    expect(events[0]!.data).toMatchObject({
      service: service.name,
      exception: { type: 'TypeError', value: "Cannot read properties of undefined (reading 'capacity')" },
      release: 'inventory@3.1.0',
      environment: 'staging',
      culprit: 'src/inventory.ts in utilisation',
    });
    const samples = events.slice(1).map((e) => e.data as { frames: Array<{ filename: string; lineno?: number; contextLine?: string }>; tags: Record<string, string>; request?: { url: string } });
    for (const sample of samples) {
      const crashing = sample.frames[sample.frames.length - 1]!;
      expect(crashing).toMatchObject({ filename: join(APP, 'src', 'inventory.ts'), lineno: 8 });
      expect(crashing.contextLine).toContain('warehouse!.capacity.units');
    }
    const fromSpan = samples.find((s) => s.tags['otel.span'] !== undefined)!;
    expect(fromSpan.tags['otel.span']).toBe('GET /reservations/berlin');
    expect(fromSpan.request?.url).toBe('https://inventory.example.com/reservations/berlin?token=[Filtered]');
    expect(samples.some((s) => s.tags['log.severity'] === 'ERROR')).toBe(true);
    expect(JSON.stringify(events)).not.toContain('s3cr3t-token-value');

    const requests = await t.pool.query(
      `SELECT release, environment, sum(requests)::int AS requests, sum(request_errors)::int AS errors, sum(errors)::int AS error_reports, sum(request_duration_ms_sum) > 0 AS timed
       FROM "${t.schema}".ingest_release_counts WHERE service = $1 GROUP BY 1, 2`,
      [service.name],
    );
    expect(requests.rows).toEqual([{ release: 'inventory@3.1.0', environment: 'staging', requests: 4, errors: 1, error_reports: 2, timed: true }]);
  });

  it('refuses a JSON or protobuf body that is not OTLP with 400, and telemetry of another service', async () => {
    const { t } = ingest;
    const service = await registerService(t.store, t.pool, t.schema);
    const post = (path: string, body: string | Buffer, type: string) =>
      fetch(`${ingest.url}${path}`, { method: 'POST', body, headers: { authorization: `Bearer ${service.key}`, 'content-type': type } });
    expect((await post('/v1/traces', '{"resourceSpans":', 'application/json')).status).toBe(400);
    expect((await post('/v1/logs', Buffer.from([0x0a, 0xff, 0xff, 0xff]), 'application/x-protobuf')).status).toBe(400);
    expect((await post('/v1/logs', 'x', 'text/plain')).status).toBe(415);
    const other = await post(
      '/v1/traces',
      JSON.stringify({ resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'someone-else' } }] }, scopeSpans: [{ spans: [{ name: 'x', kind: 2 }] }] }] }),
      'application/json',
    );
    expect(other.status).toBe(200);
    expect(await other.json()).toMatchObject({ partialSuccess: { rejectedSpans: '1' } });
    const noKey = await fetch(`${ingest.url}/v1/traces`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
    expect(noKey.status).toBe(401);
  });
});
