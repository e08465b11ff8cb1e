import { join } from 'node:path';
import { waitFor } from '@antibody/testing';
import { buildApp, runApp } from './apps';
import { drained, incidentsOf, registerService, startIngest, type TestIngest } from './support';

// A real Node app with the unmodified @sentry/node SDK, its DSN on ingest, throws from TypeScript
// code compiled with source maps. The incident must appear grouped, mapped and scrubbed.
const APP = join(__dirname, 'apps', 'sentry-app');

describe('a real @sentry/node app reporting to ingest', () => {
  let ingest: TestIngest;

  beforeAll(async () => {
    buildApp(APP, ['cart.ts']);
    ingest = await startIngest();
  });

  afterAll(async () => {
    await ingest.stop();
    await ingest.t.cleanup();
  });

  it('opens one incident with the TypeScript frames, release, environment and a scrubbed sample; a second release groups with it', async () => {
    const { t } = ingest;
    const service = await registerService(t.store, t.pool, t.schema, { repository: APP, sourceMaps: 'build/**/*.js.map' });
    const dsn = `http://${service.key}@127.0.0.1:${ingest.port}/1`;

    const first = await runApp(APP, 'main.js', { SENTRY_DSN: dsn, APP_RELEASE: 'shop@1.0.0', APP_ENVIRONMENT: 'staging' });
    expect(first.stdout).toContain('flushed=true');
    await drained(t.pool, t.schema);
    const second = await runApp(APP, 'main.js', { SENTRY_DSN: dsn, APP_RELEASE: 'shop@1.0.1', APP_ENVIRONMENT: 'staging' });
    expect(second.stdout).toContain('flushed=true');
    await drained(t.pool, t.schema);

    const incidents = await waitFor(async () => {
      const found = await incidentsOf(t.store, t.pool, t.schema, service.name);
      const events = [...found.values()][0] ?? [];
      return found.size === 1 && events.filter((e) => e.type === 'ErrorRecorded').length === 2 ? found : undefined;
    }, { timeoutMs: 20_000, description: 'one incident with two samples' });
    const [incidentId, stream] = [...incidents.entries()][0]!;
    // OccurrencesCounted may come between them (a bucket closing during the test): not the subject here.
    const events = stream.filter((e) => e.type !== 'OccurrencesCounted');
    expect(events.map((e) => e.type)).toEqual(['IncidentOpened', 'ErrorRecorded', 'ErrorRecorded']);

    const opened = events[0]!.data as Record<string, unknown>;
    expect(opened).toMatchObject({
      incidentId,
      service: service.name,
      exception: { type: 'TypeError', value: "Cannot read properties of undefined (reading 'price')" },
      release: 'shop@1.0.0',
      environment: 'staging',
    });
    expect(opened['culprit']).toMatch(/src\/cart\.ts in /);
    const fingerprint = await t.pool.query(`SELECT fingerprint, basis, occurrences FROM "${t.schema}".ingest_fingerprints WHERE incident_id = $1`, [incidentId]);
    expect(fingerprint.rows[0]).toMatchObject({ fingerprint: opened['fingerprint'], basis: 'in-app-frames', occurrences: '2' });

    const sample = events[1]!.data as {
      frames: Array<{ filename: string; lineno?: number; function?: string; contextLine?: string; inApp: boolean }>;
      request: { url: string; headers: Record<string, string>; data: Record<string, string> };
      tags: Record<string, string>;
      release: string;
    };
    const crashing = sample.frames[sample.frames.length - 1]!;
    expect(crashing.filename).toBe(join(APP, 'src', 'cart.ts'));
    expect(crashing.lineno).toBe(8);
    expect(crashing.contextLine).toContain('item.product!.price * item.quantity');
    expect(crashing.inApp).toBe(true);
    expect(sample.frames.some((f) => f.filename.endsWith('main.js') && f.inApp)).toBe(true);
    expect(sample.release).toBe('shop@1.0.0');
    expect((events[2]!.data as { release: string }).release).toBe('shop@1.0.1');

    // Scrubbed before storage: credentials, card numbers, secrets in tags and URLs, IP addresses.
    expect(sample.request.headers['Authorization']).toBe('[Filtered]');
    expect(sample.request.url).toBe('https://shop.example.com/checkout?session_id=[Filtered]&page=2');
    expect(sample.request.data).toEqual({ card: '[Filtered]', password: '[Filtered]', note: 'leave at door' });
    expect(sample.tags['api_token']).toBe('[Filtered]');
    expect(sample.tags['region']).toBe('eu-west-1');
    const everything = JSON.stringify(events);
    for (const secret of ['sk_live_51HxYzVerySecretToken', 'hunter2', '4111 1111', '203.0.113.7', 'tok_should_not_be_stored', 'abc123secret']) {
      expect(everything).not.toContain(secret);
    }

    // Per-release counts for the deployer.
    const counts = await t.pool.query(`SELECT release, environment, sum(errors)::int AS errors FROM "${t.schema}".ingest_release_counts WHERE service = $1 GROUP BY 1, 2 ORDER BY 1`, [service.name]);
    expect(counts.rows).toEqual([
      { release: 'shop@1.0.0', environment: 'staging', errors: 1 },
      { release: 'shop@1.0.1', environment: 'staging', errors: 1 },
    ]);
  });
});
