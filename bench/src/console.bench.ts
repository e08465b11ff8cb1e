import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { Pool } from 'pg';
import { createEventStore, dropEventStore, migrateEventStore, type EventStore, type NewEvent } from '@antibody/event-store';
import { discoverInfrastructure, freePort, startEmbeddedPostgres, startProcess, testMetadata, uniqueName, waitFor, type Infrastructure } from '@antibody/testing';
import { INCIDENT_SELECT } from '../../services/console/dist/infrastructure/read-api';
import { ConsoleReadModels } from '../../services/console/dist/infrastructure/read-models';
import { migrateConsoleSchema } from '../../services/console/dist/infrastructure/schema';
import { percentile, report } from './harness';

// Figures for the console (issue 16, docs/BENCHMARKS.md): a store of INCIDENTS incidents of
// EVENTS_PER_INCIDENT events each (10,000 × 100 = 1,000,000 by default), the read models rebuilt
// from position 0, then the incidents list and show endpoints of the console running as its own
// process, each beside a plain SQL query of the same rows in the same run.
const INCIDENTS = Number(process.env['BENCH_CONSOLE_INCIDENTS'] ?? 10_000);
const EVENTS_PER_INCIDENT = 100;
const WRITERS = 4;
const REQUESTS = Number(process.env['BENCH_CONSOLE_REQUESTS'] ?? 1_000);
const SERVICES = ['checkout', 'orders', 'billing', 'search', 'accounts'];
const STATUSES = ['resolved', 'escalated', 'proposed-as-pr', 'diagnosing'];

/** One incident's 100 events, in the order the loop appends them; its ending varies with `i`. */
function incidentEvents(i: number): { streamId: string; incidentId: string; events: NewEvent[] } {
  const incidentId = randomUUID();
  const service = SERVICES[i % SERVICES.length] as string;
  const P = randomUUID();
  const Q = randomUUID();
  const release = `${service}@1.${i % 40}.0`;
  const exception = { type: 'TypeError', value: `Cannot read properties of undefined (reading 'f${i % 97}')` };
  const frames = Array.from({ length: 8 }, (_, k) => ({ filename: `src/module${k}.ts`, function: `fn${k}`, lineno: 10 + k, colno: 5, inApp: k > 3 }));
  const at = (minutes: number) => new Date(Date.UTC(2026, 0, 1) + i * 60_000 + minutes * 1000).toISOString();
  const sample = { exception, frames, tags: { route: '/orders' }, release, environment: 'production', receivedAt: at(0) };
  const head: Array<Pick<NewEvent, 'type' | 'data'>> = [
    { type: 'IncidentOpened', data: { incidentId, service, fingerprint: createHash('sha256').update(String(i)).digest('hex').slice(0, 32), exception, release, environment: 'production', culprit: 'src/module7.ts in fn7', firstSeen: at(0) } },
    { type: 'ErrorRecorded', data: sample },
    { type: 'ErrorRecorded', data: { ...sample, receivedAt: at(1) } },
    { type: 'ErrorRecorded', data: { ...sample, receivedAt: at(2) } },
  ];
  const ending = STATUSES[i % STATUSES.length];
  const loop: Array<Pick<NewEvent, 'type' | 'data'>> = [];
  if (ending !== 'diagnosing') {
    loop.push(
      { type: 'DiagnosisMade', data: { rootCause: 'a property of a value that may be undefined is read', location: { file: 'src/module7.ts', line: 17, function: 'fn7' }, source: 'llm', model: 'gpt-small', confidence: 0.82 } },
      { type: 'LlmCallMetered', data: { model: 'gpt-small', tier: 'small', step: 'diagnosis', promptTokens: 2400, completionTokens: 300, costUsd: 0.0031 } },
      { type: 'LlmCallMetered', data: { model: 'gpt-small', tier: 'small', step: 'patch', promptTokens: 3100, completionTokens: 500, costUsd: 0.0044 } },
      { type: 'PatchProposed', data: { patchId: P, diff: `--- a/src/module7.ts\n+++ b/src/module7.ts\n@@ -17 +17 @@\n-  return value.f${i % 97};\n+  return value?.f${i % 97};\n`, files: ['src/module7.ts'], rationale: 'guard the read', source: 'llm', model: 'gpt-small', rank: 1, confidence: 0.8 } },
      { type: 'PatchProposed', data: { patchId: Q, diff: '--- a/src/module7.ts\n+++ b/src/module7.ts\n@@ -16 +16 @@\n-  const value = load();\n+  const value = load() ?? {};\n', files: ['src/module7.ts'], rationale: 'default the value', source: 'llm', model: 'gpt-small', rank: 2, confidence: 0.6 } },
    );
    const tests = Array.from({ length: 12 }, (_, k) => ({ name: `suite ${k}`, status: 'passed', durationMs: 20 + k, baseline: k === 0 ? 'failed' : 'passed' }));
    if (ending === 'escalated') {
      loop.push(
        { type: 'PatchRejected', data: { patchId: P, reason: 'a test failed', failingTests: ['suite 3'], stage: 'tests', tests } },
        { type: 'PatchRejected', data: { patchId: Q, reason: 'a test failed', failingTests: ['suite 4'], stage: 'tests', tests } },
        { type: 'IncidentEscalated', data: { reason: 'every candidate was rejected', step: 'validation' } },
      );
    } else {
      loop.push(
        { type: 'PatchValidated', data: { patchId: P, tests, reproduction: { status: 'reproduced' }, durationMs: 30_000 } },
        { type: 'PatchRejected', data: { patchId: Q, reason: 'a test failed', failingTests: ['suite 4'], stage: 'tests', tests } },
        { type: 'FixCommitted', data: { patchId: P, branch: `antibody/${incidentId}`, commitSha: createHash('sha1').update(incidentId).digest('hex'), ...(ending === 'proposed-as-pr' ? { pullRequestUrl: `https://github.example/acme/${service}/pull/${i}` } : {}) } },
      );
      if (ending === 'resolved') {
        const counts = (n: number) => ({ canary: { requests: n, errors: 0, slow: 0 }, stable: { requests: 10 * n, errors: 1, slow: 0 } });
        const evidence = (stage: number) => ({ errorRate: { baseline: 0.001, canary: 0 }, stage, stageElapsedMs: 300_000, counts: counts(500) });
        loop.push(
          { type: 'RolloutStarted', data: { patchId: P, release: `${release}+fix`, stages: [10, 50, 100], at: at(10), baseline: counts(0) } },
          { type: 'StageAdvanced', data: { patchId: P, stage: 50, evidence: evidence(10), at: at(15), snapshot: counts(500) } },
          { type: 'StageAdvanced', data: { patchId: P, stage: 100, evidence: evidence(50), at: at(20), snapshot: counts(1000) } },
          { type: 'RolloutCompleted', data: { patchId: P, release: `${release}+fix`, evidence: evidence(100), trace: [evidence(10), evidence(50), evidence(100)] } },
          { type: 'IncidentResolved', data: { resolution: 'deployed', patchId: P } },
        );
      }
    }
  }
  const counted = Array.from({ length: EVENTS_PER_INCIDENT - head.length - loop.length }, (_, k) => ({ type: 'OccurrencesCounted', data: { bucketStart: at(60 * (k + 1)), bucketSeconds: 60, count: 1 + (k % 5) } }));
  // Occurrences keep being counted while the loop works, as ingest does.
  const events = [...head, ...counted.slice(0, 40), ...loop, ...counted.slice(40)].map((e) => ({ ...e, metadata: testMetadata({ correlationId: incidentId, producer: { service: 'bench', instance: 'bench-1' } }) }));
  return { streamId: `incident-${incidentId}`, incidentId, events };
}

async function generate(store: EventStore): Promise<{ ids: string[]; seconds: number }> {
  const ids: string[] = [];
  let next = 0;
  const started = Date.now();
  await Promise.all(
    Array.from({ length: WRITERS }, async () => {
      for (;;) {
        const i = next++;
        if (i >= INCIDENTS) return;
        const { streamId, incidentId, events } = incidentEvents(i);
        ids.push(incidentId);
        await store.appendToStream(streamId, events, { expectedVersion: 'no-stream' });
        if (i % 1000 === 999) process.stderr.write(`  ${i + 1} incidents appended\n`);
      }
    }),
  );
  return { ids, seconds: (Date.now() - started) / 1000 };
}

async function timed(requests: number, call: (i: number) => Promise<void>): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < requests; i++) {
    const started = process.hrtime.bigint();
    await call(i);
    samples.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  return samples;
}

export async function main(): Promise<void> {
  // CONSOLE_BENCH_DATABASE=embedded runs on a Postgres of its own: on a shared server another
  // session's long transaction holds back the global xmin that the gap-safe log reads wait for,
  // which stalls a rebuild for as long as it stays open.
  let infrastructure: Infrastructure;
  if (process.env['CONSOLE_BENCH_DATABASE'] === 'embedded') {
    const embedded = await startEmbeddedPostgres({ persistent: false });
    infrastructure = { databaseUrl: embedded.url, natsUrl: undefined, stop: () => embedded.shutdown() };
  } else {
    infrastructure = await discoverInfrastructure((line) => process.stderr.write(`${line}\n`));
  }
  const schema = uniqueName('bench_console');
  await migrateEventStore({ connectionString: infrastructure.databaseUrl, schema });
  const pool = new Pool({ connectionString: infrastructure.databaseUrl, max: WRITERS + 4 });
  const store = createEventStore({ pool, schema });
  let console: ReturnType<typeof startProcess> | undefined;
  try {
    await migrateConsoleSchema(pool, schema);
    process.stderr.write(`appending ${INCIDENTS} incidents × ${EVENTS_PER_INCIDENT} events…\n`);
    const { ids, seconds: appendSeconds } = await generate(store);
    const token = `abo_${randomBytes(24).toString('base64url')}`;
    const tokenId = randomUUID();
    await store.appendToStream(`token-${tokenId}`, [{ type: 'OperatorTokenCreated', data: { tokenId, name: 'bench', role: 'viewer', hash: createHash('sha256').update(token).digest('hex') }, metadata: testMetadata() }]);
    const { rows: counted } = await pool.query<{ n: string }>(`SELECT count(*)::bigint AS n FROM "${schema}".events`);
    const events = Number(counted[0]?.n);

    // Rebuild from position 0, then the same rows by plain SQL (one aggregate row per incident) over the same events.
    process.stderr.write(`rebuilding the read models from ${events} events…\n`);
    const models = new ConsoleReadModels(store, { pollIntervalMs: 50 });
    const rebuildStarted = Date.now();
    models.start();
    await models.caughtUp(3_600_000);
    const rebuildSeconds = (Date.now() - rebuildStarted) / 1000;
    await models.stop();
    process.stderr.write(`rebuilt in ${rebuildSeconds.toFixed(1)} s\n`);
    const sqlStarted = Date.now();
    await pool.query(
      `CREATE TABLE "${schema}".plain_incidents AS
         SELECT stream_id, count(*) AS events, min(recorded_at) AS first, max(recorded_at) AS last,
                max(data->>'service') AS service, max(type) FILTER (WHERE type IN ('IncidentResolved', 'IncidentEscalated', 'FixCommitted')) AS status,
                sum((data->>'count')::int) FILTER (WHERE type = 'OccurrencesCounted') AS occurrences, sum((data->>'costUsd')::float8) AS cost
           FROM "${schema}".events WHERE stream_id LIKE 'incident-%' GROUP BY stream_id`,
    );
    const sqlSeconds = (Date.now() - sqlStarted) / 1000;

    // The console as its own process, on the rows just built (its projection starts caught up).
    const port = await freePort();
    console = startProcess(join(__dirname, '..', '..', 'services', 'console', 'dist', 'main.js'), {
      DATABASE_URL: infrastructure.databaseUrl,
      ANTIBODY_SCHEMA: schema,
      PORT: String(port),
      LOG_LEVEL: 'error',
      OTEL_TRACES_EXPORTER: 'none',
    });
    const base = `http://127.0.0.1:${port}`;
    const headers = { authorization: `Bearer ${token}` };
    const started = console;
    await waitFor(async () => (await fetch(`${base}/v1/services`, { headers })).status === 200, { timeoutMs: 120_000, description: 'the console answering with the token' }).catch((error: unknown) => {
      throw new Error(`${(error as Error).message}; the console's output: ${started.stdout().slice(-2000)} ${started.stderr().slice(-2000)}`);
    });
    const list = (i: number) => {
      const status = i % 3 === 0 ? `&status=${STATUSES[i % STATUSES.length]}` : '';
      const service = i % 2 === 0 ? `&service=${SERVICES[i % SERVICES.length]}` : '';
      return { status: i % 3 === 0 ? STATUSES[i % STATUSES.length] : undefined, service: i % 2 === 0 ? SERVICES[i % SERVICES.length] : undefined, query: `limit=50${status}${service}` };
    };
    // Warm both paths once, then measure them interleaved in blocks of 50 so the machine's noise hits both alike.
    for (let i = 0; i < 20; i++) await (await fetch(`${base}/v1/incidents?${list(i).query}`, { headers })).json();
    const apiList: number[] = [];
    const sqlList: number[] = [];
    const apiShow: number[] = [];
    const sqlShow: number[] = [];
    const statusOf = (s: string) => ({ 'proposed-as-pr': 'proposed-as-pr', resolved: 'resolved', escalated: 'escalated', diagnosing: 'diagnosing' })[s] ?? s;
    for (let block = 0; block < REQUESTS / 50; block++) {
      apiList.push(...(await timed(50, async (i) => void (await (await fetch(`${base}/v1/incidents?${list(block * 50 + i).query}`, { headers })).json()))));
      sqlList.push(
        ...(await timed(50, async (i) => {
          const { status, service } = list(block * 50 + i);
          const where = [status ? `status = '${statusOf(status)}'` : '', service ? `service = '${service}'` : ''].filter(Boolean);
          await pool.query(`SELECT ${INCIDENT_SELECT} FROM "${schema}".console_incidents ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY opened_at DESC, incident_id DESC LIMIT 51`);
        })),
      );
      apiShow.push(...(await timed(50, async (i) => void (await (await fetch(`${base}/v1/incidents/${ids[(block * 50 + i) * 7 % ids.length]}`, { headers })).json()))));
      sqlShow.push(
        ...(await timed(50, async (i) => {
          const id = ids[(block * 50 + i) * 7 % ids.length];
          await Promise.all([
            pool.query(`SELECT ${INCIDENT_SELECT}, detail FROM "${schema}".console_incidents WHERE incident_id = $1`, [id]),
            pool.query(`SELECT version, type, recorded_at, summary, actor FROM "${schema}".console_incident_timeline WHERE incident_id = $1 ORDER BY version`, [id]),
          ]);
        })),
      );
    }
    const { rows: rowCount } = await pool.query<{ n: string }>(`SELECT count(*)::bigint AS n FROM "${schema}".console_incidents`);
    report(
      'console',
      {
        incidents_list_p95_ms: { value: percentile(apiList, 95), unit: 'ms', goal: '≤ 50', note: `GET /v1/incidents?limit=50 (status/service filters varied), ${apiList.length} requests, ${Number(rowCount[0]?.n)} incidents, ${events} events` },
        incidents_list_sql_p95_ms: { value: percentile(sqlList, 95), unit: 'ms', note: 'the same SELECT over the same rows, straight to Postgres' },
        incidents_list_p50_ms: { value: percentile(apiList, 50), unit: 'ms' },
        incidents_show_p95_ms: { value: percentile(apiShow, 95), unit: 'ms', goal: '≤ 100', note: `GET /v1/incidents/{id}: row, detail (diffs, verdicts with 12 tests each, rollout evidence) and timeline, ${apiShow.length} requests` },
        incidents_show_sql_p95_ms: { value: percentile(sqlShow, 95), unit: 'ms', note: 'the same two SELECTs, straight to Postgres' },
        incidents_show_p50_ms: { value: percentile(apiShow, 50), unit: 'ms' },
        rebuild_eps: { value: events / rebuildSeconds, unit: 'events/s', goal: '≥ 50,000', note: `every read model rebuilt from position 0: ${events} events in ${rebuildSeconds.toFixed(1)} s` },
        rebuild_sql_eps: { value: events / sqlSeconds, unit: 'events/s', note: `one plain SQL aggregate (CREATE TABLE AS … GROUP BY stream) of the same events into one row per incident, ${sqlSeconds.toFixed(1)} s` },
        append_eps: { value: events / appendSeconds, unit: 'events/s', note: `generating the store: ${WRITERS} writers, one 100-event append per incident` },
      },
      { incidents: INCIDENTS, events, eventsPerIncident: EVENTS_PER_INCIDENT },
    );
  } finally {
    console?.stop();
    await console?.exited;
    await dropEventStore(pool, schema).catch(() => undefined);
    await pool.end();
    await infrastructure.stop?.();
  }
}
