import { createTestStore, testMetadata, waitFor, type TestStore } from '@antibody/testing';
import { drained, envelope, incidentsOf, registerService, sentryEvent, startIngest, type TestIngest } from './support';

const frames = (fn: string) => [
  { filename: '/app/node_modules/express/lib/router.js', function: 'handle', lineno: 10, in_app: false },
  { filename: '/app/src/orders.js', function: fn, lineno: 5 + fn.length, colno: 3, in_app: true, context_line: `  return ${fn}(order.items);` },
];
const errorOf = (fn: string, release: string) =>
  sentryEvent({ release, exception: { values: [{ type: 'TypeError', value: `${fn} failed for order ${Math.floor(Math.random() * 1000)}`, stacktrace: { frames: frames(fn) } }] } });

// Two ingest instances on one database: every accepted report is counted exactly once, incidents
// open once per fingerprint, samples stop at N, closed buckets become OccurrencesCounted, and a
// resolved incident reopens when its error comes back.
describe('processing accepted reports into incidents and counts', () => {
  let t: TestStore;
  let a: TestIngest;
  let b: TestIngest;

  beforeAll(async () => {
    t = await createTestStore('ingest_proc');
    const settings = { INGEST_SAMPLES_PER_INCIDENT: 3, INGEST_BUCKET_SECONDS: 1 };
    a = await startIngest(settings, t);
    b = await startIngest(settings, t);
  });

  afterAll(async () => {
    await a.stop();
    await b.stop();
    await t.cleanup();
  });

  it('counts every report exactly once across two instances and keeps only the first samples', async () => {
    const service = await registerService(t.store, t.pool, t.schema);
    const headers = { 'x-sentry-auth': `Sentry sentry_key=${service.key}` };
    const functions = ['reserveStock', 'chargeCard', 'sendReceipt'];
    const sent = new Map<string, number>();
    await Promise.all(
      Array.from({ length: 60 }, async (_, i) => {
        const fn = functions[i % 3]!;
        const target = i % 2 === 0 ? a : b;
        const release = i < 30 ? 'orders@1.0.0' : 'orders@1.1.0';
        const res = await fetch(`${target.url}/api/1/envelope/`, { method: 'POST', headers, body: envelope({}, [{ type: 'event' }, errorOf(fn, release)]) });
        expect(res.status).toBe(200);
        sent.set(fn, (sent.get(fn) ?? 0) + 1);
      }),
    );
    await drained(t.pool, t.schema);

    const incidents = await incidentsOf(t.store, t.pool, t.schema, service.name);
    expect(incidents.size).toBe(3);
    for (const events of incidents.values()) {
      expect(events.filter((e) => e.type === 'IncidentOpened')).toHaveLength(1);
      expect(events.filter((e) => e.type === 'ErrorRecorded')).toHaveLength(3);
    }
    const occurrences = await t.pool.query(`SELECT sum(occurrences)::int AS n FROM "${t.schema}".ingest_fingerprints WHERE service = $1`, [service.name]);
    expect(occurrences.rows[0].n).toBe(60);
    const releases = await t.pool.query(`SELECT release, sum(errors)::int AS errors FROM "${t.schema}".ingest_release_counts WHERE service = $1 GROUP BY 1 ORDER BY 1`, [service.name]);
    expect(releases.rows).toEqual([
      { release: 'orders@1.0.0', errors: 30 },
      { release: 'orders@1.1.0', errors: 30 },
    ]);

    // Once the 1-second buckets close, OccurrencesCounted reports every occurrence exactly once.
    const counted = await waitFor(async () => {
      let total = 0;
      for (const id of incidents.keys()) {
        const events = (await t.store.readStream(`incident-${id}`)).events;
        total += events.filter((e) => e.type === 'OccurrencesCounted').reduce((sum, e) => sum + (e.data as { count: number }).count, 0);
      }
      return total === 60 ? total : undefined;
    }, { timeoutMs: 20_000, description: 'OccurrencesCounted to add up to 60' });
    expect(counted).toBe(60);
  });

  it('reopens a resolved incident when its error comes back', async () => {
    const service = await registerService(t.store, t.pool, t.schema);
    const headers = { 'x-sentry-auth': `Sentry sentry_key=${service.key}` };
    const post = (release: string) => fetch(`${a.url}/api/1/envelope/`, { method: 'POST', headers, body: envelope({}, [{ type: 'event' }, errorOf('applyCoupon', release)]) });
    expect((await post('shop@1.0.0')).status).toBe(200);
    await drained(t.pool, t.schema);
    const [incidentId] = [...(await incidentsOf(t.store, t.pool, t.schema, service.name)).keys()];

    await t.store.appendToStream(`incident-${incidentId}`, [{ type: 'IncidentResolved', data: { resolution: 'manual' }, metadata: testMetadata({ correlationId: incidentId! }) }]);
    await waitFor(async () => (await t.pool.query(`SELECT status FROM "${t.schema}".ingest_fingerprints WHERE incident_id = $1`, [incidentId])).rows[0]?.status === 'resolved', {
      timeoutMs: 15_000,
      description: 'ingest to learn the incident was resolved',
    });

    expect((await post('shop@1.0.1')).status).toBe(200);
    await drained(t.pool, t.schema);
    const events = (await t.store.readStream(`incident-${incidentId}`)).events;
    const reopened = events.find((e) => e.type === 'IncidentReopened');
    expect(reopened?.data).toEqual({ reason: 'seen again after it was resolved (release shop@1.0.1)', release: 'shop@1.0.1' });
    expect(events.map((e) => e.type).filter((type) => type !== 'OccurrencesCounted')).toEqual(['IncidentOpened', 'ErrorRecorded', 'IncidentResolved', 'IncidentReopened', 'ErrorRecorded']);
    expect((await incidentsOf(t.store, t.pool, t.schema, service.name)).size).toBe(1);
  });

  it('stores reports with NUL characters and lone surrogates and makes their strings safe in the incident events', async () => {
    const service = await registerService(t.store, t.pool, t.schema);
    const message = 'bad byte \u0000 and half a pair \ud83d in order 7';
    const answer = await fetch(`${a.url}/v1/errors`, {
      method: 'POST',
      headers: { 'x-antibody-key': service.key, 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'RangeError', message, release: 'shop@1', tags: { 'k\u0000': 'v\udfff' } }),
    });
    expect(answer.status).toBe(202);
    await drained(t.pool, t.schema);
    expect(Number((await t.pool.query(`SELECT count(*) AS n FROM "${t.schema}".ingest_intake_ids WHERE service = $1`, [service.name])).rows[0].n)).toBe(1);
    expect(Number((await t.pool.query(`SELECT count(*) AS n FROM "${t.schema}".ingest_intake WHERE service = $1 AND failure IS NOT NULL`, [service.name])).rows[0].n)).toBe(0);
    const incidents = await incidentsOf(t.store, t.pool, t.schema, service.name);
    const events = [...incidents.values()][0]!;
    expect(events.map((e) => e.type).filter((type) => type !== 'OccurrencesCounted')).toEqual(['IncidentOpened', 'ErrorRecorded']);
    const sample = events[1]!.data as { exception: { value: string }; tags: Record<string, string> };
    expect(sample.exception.value).toBe('bad byte \ufffd and half a pair \ufffd in order 7');
    expect(sample.tags).toEqual({ 'k\ufffd': 'v\ufffd' });
  });
});
