import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import autocannon from 'autocannon';
import { Pool } from 'pg';
import { createEventStore, dropEventStore, migrateEventStore } from '@antibody/event-store';
import { discoverInfrastructure, freePort, startEmbeddedPostgres, testMetadata, uniqueName, waitFor, type Infrastructure } from '@antibody/testing';
import { median, report } from './harness';

// Figures for the ingest issue (docs/BENCHMARKS.md): Sentry envelopes of about 5 KB carrying error
// events of 50 fingerprints, driven by autocannon against the real ingest process (durable
// acknowledgement in Postgres) and, in the same run, against a bare node:http server that parses
// the same envelope and answers 200 — alternately, in rounds (INGEST_BENCH_ROUNDS, default 3, of
// INGEST_BENCH_SECONDS / rounds each, default 60 s in all).
const MAX_SECONDS = Number(process.env['INGEST_BENCH_SECONDS'] ?? 60);
const ROUNDS = Math.max(1, Number(process.env['INGEST_BENCH_ROUNDS'] ?? 3));
const SLICE_SECONDS = Math.max(5, Math.round(MAX_SECONDS / ROUNDS));
const BARE_SLICE_SECONDS = Math.max(5, Math.round(SLICE_SECONDS / 2));
const LATENCY_SECONDS = Math.max(10, Math.round(MAX_SECONDS / 3));
const LATENCY_WARM_UP_SECONDS = 5;
const CONNECTIONS = 64;
const FINGERPRINTS = 50;
const ROOT = join(__dirname, '..', '..');

/** A ~5 KB Sentry event of one of 50 root causes, with a fresh id (so every request is a new report). */
function envelope(): { body: string; id: string } {
  const id = randomUUID().replace(/-/g, '');
  const cause = Math.floor(Math.random() * FINGERPRINTS);
  const frames = Array.from({ length: 12 }, (_, i) => ({
    filename: i < 8 ? `/srv/shop/node_modules/framework/lib/layer${i}.js` : `/srv/shop/dist/module${cause}/file${i}.js`,
    function: i < 8 ? `Layer.handle${i}` : `handler${cause}_${i}`,
    lineno: 10 + i,
    colno: 5,
    in_app: i >= 8,
    context_line: i >= 8 ? `    const value = input${cause}.items[${i}].price * quantity;` : undefined,
    pre_context: ['  // computing the order total', '  let total = 0;'],
    post_context: ['  return total;', '}'],
  }));
  const event = {
    event_id: id,
    timestamp: Date.now() / 1000,
    platform: 'node',
    level: 'error',
    release: `shop@1.${cause % 3}.0`,
    environment: 'production',
    exception: { values: [{ type: 'TypeError', value: `Cannot read properties of undefined (reading 'price') in order ${Math.floor(Math.random() * 1e6)}`, stacktrace: { frames } }] },
    tags: { region: 'eu-west-1', route: `/api/orders/${cause}` },
    request: { method: 'POST', url: `https://shop.example.com/api/orders/${cause}`, headers: { 'User-Agent': 'Mozilla/5.0', Authorization: 'Bearer abcdefghijklmnop' } },
    extra: { note: 'x'.repeat(1200) },
    sdk: { name: 'sentry.javascript.node', version: '11.12.0' },
  };
  const body = `${JSON.stringify({ event_id: id, sent_at: new Date().toISOString() })}\n${JSON.stringify({ type: 'event' })}\n${JSON.stringify(event)}\n`;
  return { body, id };
}

// The baseline: node:http reading the body, splitting the envelope and JSON-parsing every line.
const BARE_SERVER = `
const http = require('node:http');
const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const lines = Buffer.concat(chunks).toString('utf8').split('\\n').filter((l) => l !== '');
    const header = JSON.parse(lines[0]);
    for (const line of lines.slice(1)) JSON.parse(line);
    const body = JSON.stringify({ id: header.event_id });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
});
server.listen(Number(process.env.PORT), '127.0.0.1', () => process.stdout.write('listening\\n'));
`;

interface ProcStat {
  readonly pid: number;
  readonly ppid: number;
  readonly comm: string;
  /** utime + stime, s */
  readonly own: number;
  /** cutime + cstime (reaped children), s */
  readonly children: number;
}

function procStat(pid: number): ProcStat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const comm = text.slice(text.indexOf('(') + 1, text.lastIndexOf(')'));
    // After "pid (comm) ": state ppid … utime stime cutime cstime are fields 3-based 1, 11, 12, 13, 14 (clock ticks, 100/s).
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { pid, ppid: Number(fields[1]), comm, own: (Number(fields[11]) + Number(fields[12])) / 100, children: (Number(fields[13]) + Number(fields[14])) / 100 };
  } catch {
    return undefined;
  }
}

/**
 * CPU seconds (user + system) a process has used so far, from /proc (Linux; undefined elsewhere);
 * with `tree`, those of its descendants too (live ones and reaped ones), e.g. all of Postgres.
 * CPU time per envelope is what the machine's other load inflates least, so it is reported next to
 * the throughput figures.
 */
function cpuSeconds(pid: number | undefined, tree = false): number | undefined {
  if (pid === undefined) return undefined;
  const root = procStat(pid);
  if (!root) return undefined;
  if (!tree) return root.own;
  const all = readdirSync('/proc').filter((name) => /^\d+$/.test(name)).map((name) => procStat(Number(name))).filter((p): p is ProcStat => p !== undefined);
  const below = new Set([pid]);
  let total = root.own + root.children;
  for (let grew = true; grew; ) {
    grew = false;
    for (const p of all) {
      if (!below.has(p.pid) && below.has(p.ppid)) {
        below.add(p.pid);
        total += p.own + p.children;
        grew = true;
      }
    }
  }
  return total;
}

/**
 * The Postgres server's main process when it runs on this machine (embedded or a local server):
 * the parent of this connection's backend. Undefined when the server is elsewhere (its backend pid
 * is then not a local postgres process) or not on Linux.
 */
async function localPostgresPid(pool: Pool): Promise<number | undefined> {
  const backend = Number((await pool.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid);
  const stat = procStat(backend);
  if (!stat || !stat.comm.startsWith('postgres')) return undefined;
  return procStat(stat.ppid)?.comm.startsWith('postgres') ? stat.ppid : undefined;
}

function spawnProcess(args: string[], env: Record<string, string>): { child: ChildProcess; output: () => string } {
  const child = spawn(process.execPath, args, { env: { PATH: process.env['PATH'] ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (c: Buffer) => (output = (output + c.toString()).slice(-20_000)));
  child.stderr?.on('data', (c: Buffer) => (output = (output + c.toString()).slice(-20_000)));
  return { child, output: () => output };
}

/** A Prometheus histogram as ingest's /metrics shows it: cumulative counts per upper bound, sum and count. */
interface Histogram {
  readonly buckets: ReadonlyMap<number, number>;
  readonly sum: number;
  readonly count: number;
}

/** The histogram `name` of ingest's /metrics; with `labels`, only the series carrying all of them. */
async function histogram(url: string, name: string, labels: readonly string[] = []): Promise<Histogram> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const buckets = new Map<number, number>();
  let sum = 0;
  let count = 0;
  for (const line of text.split('\n')) {
    if (!labels.every((label) => line.includes(label))) continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (line.startsWith(`${name}_bucket{`)) {
      const le = /le="([^"]+)"/.exec(line)?.[1];
      if (le !== undefined) buckets.set(le === '+Inf' ? Infinity : Number(le), value);
    } else if (line.startsWith(`${name}_sum{`)) sum = value;
    else if (line.startsWith(`${name}_count{`)) count = value;
  }
  return { buckets, sum, count };
}

/** What was observed between two scrapes of the same histogram. */
function since(before: Histogram, after: Histogram): Histogram {
  const buckets = new Map([...after.buckets].map(([le, n]) => [le, n - (before.buckets.get(le) ?? 0)]));
  return { buckets, sum: after.sum - before.sum, count: after.count - before.count };
}

/**
 * The longest event-loop delay of ingest's main thread since the previous scrape, in ms
 * (prom-client resets its event-loop histogram at each scrape of /metrics).
 */
async function eventLoopMaxMs(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('nodejs_eventloop_lag_max_seconds'));
  return line === undefined ? Number.NaN : Number(line.slice(line.lastIndexOf(' ') + 1)) * 1000;
}

/** The upper bound of the bucket holding quantile `q` (a histogram only knows that much). */
function quantileBound(h: Histogram, q: number): number {
  for (const [le, n] of [...h.buckets].sort((a, b) => a[0] - b[0])) if (n >= q * h.count) return le;
  return Number.NaN;
}

/** Full load: CONNECTIONS connections, each sending its next envelope as soon as the last is answered. */
async function drive(url: string, headers: Record<string, string>, seconds: number): Promise<autocannon.Result> {
  return autocannon({
    url,
    connections: CONNECTIONS,
    duration: seconds,
    requests: [
      {
        method: 'POST',
        path: '/api/1/envelope/',
        headers: { 'content-type': 'application/x-sentry-envelope', ...headers },
        setupRequest: (req: autocannon.Request) => ({ ...req, body: envelope().body }),
      },
    ],
  });
}

/** What {@link paced} measured. */
interface PacedRun {
  /** Latency of every request answered 200 after the warm-up, in ms, from when it was due. */
  readonly latencies: readonly number[];
  /** The same during the warm-up. */
  readonly warmUpLatencies: readonly number[];
  /** Requests answered 200, warm-up included. */
  readonly ok: number;
  readonly failed: number;
}

/**
 * Latency at a fixed rate, open loop: request i is due at start + i / rate and sent then (over up
 * to CONNECTIONS keep-alive connections), whatever the earlier ones are doing, and its latency is
 * counted from when it was due, so a stall of the generator or of the server delays every request
 * due meanwhile (no coordinated omission). autocannon's own rate option is not used for this: it
 * is a quota per connection per second, sent as fast as answers come, so the requests of a second
 * arrive in a burst at its start (measured: p99 111 ms against a server answering at once).
 *
 * The first `warmUpSeconds` are not measured (as wrk2 does); `onWarmedUp` is called when they end.
 */
async function paced(
  url: string,
  headers: Record<string, string>,
  load: { seconds: number; rate: number; warmUpSeconds?: number; onWarmedUp?: () => void },
): Promise<PacedRun> {
  const { rate } = load;
  const warmUpMs = (load.warmUpSeconds ?? 0) * 1000;
  const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  const target = new URL('/api/1/envelope/', url);
  const latencies: number[] = [];
  const warmUpLatencies: number[] = [];
  let ok = 0;
  let failed = 0;
  let pending = 0;
  const send = (due: number): void => {
    pending += 1;
    const done = (status: number | undefined): void => {
      pending -= 1;
      if (status === 200) {
        ok += 1;
        (due - start < warmUpMs ? warmUpLatencies : latencies).push(performance.now() - due);
      } else failed += 1;
    };
    const body = envelope().body;
    const req = request(target, { method: 'POST', agent, headers: { 'content-type': 'application/x-sentry-envelope', 'content-length': Buffer.byteLength(body), ...headers } }, (res) => {
      res.resume();
      res.on('end', () => done(res.statusCode));
    });
    req.on('error', () => done(undefined));
    req.end(body);
  };
  const start = performance.now();
  const total = Math.round(((load.warmUpSeconds ?? 0) + load.seconds) * rate);
  let sent = 0;
  let warm = warmUpMs === 0;
  if (warm) load.onWarmedUp?.();
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      if (!warm && performance.now() - start >= warmUpMs) {
        warm = true;
        load.onWarmedUp?.();
      }
      const due = Math.min(total, Math.floor(((performance.now() - start) * rate) / 1000) + 1);
      for (; sent < due; sent++) send(start + (sent * 1000) / rate);
      if (sent < total) setTimeout(tick, 1);
      else resolve();
    };
    tick();
  });
  await waitFor(() => pending === 0, { timeoutMs: 60_000, intervalMs: 10, description: 'the paced requests to be answered' });
  agent.destroy();
  return { latencies, warmUpLatencies, ok, failed };
}

/** The `q` quantile of `values` (nearest rank). */
function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? Number.NaN;
}

export async function main(): Promise<void> {
  // INGEST_BENCH_DATABASE=embedded runs on a Postgres of its own (same machine, default durable
  // settings), away from other work on the shared server: its long transactions hold back the
  // global xmin that the store's gap-safe log reads wait for.
  let infrastructure: Infrastructure;
  if (process.env['INGEST_BENCH_DATABASE'] === 'embedded') {
    const embedded = await startEmbeddedPostgres({ persistent: false });
    infrastructure = { databaseUrl: embedded.url, natsUrl: undefined, stop: () => embedded.shutdown() };
  } else {
    infrastructure = await discoverInfrastructure((line) => process.stderr.write(`${line}\n`));
  }
  const schema = uniqueName('bench_ingest');
  await migrateEventStore({ connectionString: infrastructure.databaseUrl, schema });
  const pool = new Pool({ connectionString: infrastructure.databaseUrl, max: 4 });
  pool.on('error', () => undefined);
  const store = createEventStore({ pool, schema });

  const port = await freePort();
  // INGEST_BENCH_NODE_ARGS, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`, profiles the service under load.
  const nodeArgs = (process.env['INGEST_BENCH_NODE_ARGS'] ?? '').split(' ').filter((a) => a !== '');
  // INGEST_BENCH_MAIN runs another build of ingest (e.g. an older commit's, for an A/B comparison).
  const main = process.env['INGEST_BENCH_MAIN'] ?? join(ROOT, 'services', 'ingest', 'dist', 'main.js');
  const ingest = spawnProcess([...nodeArgs, main], {
    DATABASE_URL: infrastructure.databaseUrl,
    ANTIBODY_SCHEMA: schema,
    PORT: String(port),
    LOG_LEVEL: 'warn',
    SERVICE_INSTANCE_ID: 'bench-1',
  });
  const barePort = await freePort();
  const bare = spawnProcess(['-e', BARE_SERVER], { PORT: String(barePort) });
  try {
    await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/health`).catch(() => undefined))?.status === 200, {
      timeoutMs: 60_000,
      description: 'ingest to start',
    }).catch((error: unknown) => {
      throw new Error(`${error instanceof Error ? error.message : String(error)}; its output: ${ingest.output()}`);
    });
    await waitFor(() => bare.output().includes('listening'), { timeoutMs: 10_000, description: 'the bare server to start' });

    const service = 'bench-shop';
    const key = randomBytes(16).toString('hex');
    await store.appendToStream(`service-${service}`, [
      {
        type: 'ServiceRegistered',
        data: {
          name: service,
          repository: { url: '/srv/shop', defaultBranch: 'main' },
          commands: { test: 'npm test' },
          language: 'javascript',
          deploy: { adapter: 'none', settings: {} },
          policy: { autoDeploy: false, allowedPaths: ['src/**'], forbiddenPaths: [], budgets: { perIncidentUsd: 1, dailyUsd: 1, monthlyUsd: 1 } },
        },
        metadata: testMetadata(),
      },
      {
        type: 'IngestKeyCreated',
        data: { keyId: randomUUID(), project: service, hash: createHash('sha256').update(key).digest('hex'), rateLimitPerMinute: 1_000_000_000 },
        metadata: testMetadata(),
      },
    ]);
    const headers = { 'x-sentry-auth': `Sentry sentry_version=7, sentry_key=${key}` };
    const ingestUrl = `http://127.0.0.1:${port}`;
    await waitFor(async () => (await fetch(`${ingestUrl}/api/1/envelope/`, { method: 'POST', headers, body: envelope().body })).status === 200, {
      timeoutMs: 30_000,
      description: 'ingest to accept the bench key',
    });

    const backlogDrained = () =>
      waitFor(async () => Number((await pool.query(`SELECT count(*) AS n FROM "${schema}".ingest_intake WHERE processed_at IS NULL`)).rows[0].n) === 0, {
        timeoutMs: 15 * 60_000,
        intervalMs: 1000,
        description: 'the intake backlog to be processed',
      });
    // Full load on ingest and on the bare server alternate in ROUNDS rounds (each ingest slice is
    // followed by the digestion of its backlog, then the bare slice), so both see the same machine
    // — it is shared, and its other load drifts over minutes — and the ratio is taken per round.
    const postgresPid = await localPostgresPid(pool);
    const rounds: Array<{ ingest: autocannon.Result; bare: autocannon.Result; drainSeconds: number }> = [];
    let ingestCpu = 0;
    let postgresCpu = 0;
    let bareCpu = 0;
    let fullLoadReports = 0;
    let fullLoadWrites = 0;
    for (let round = 1; round <= ROUNDS; round++) {
      process.stderr.write(`round ${round}/${ROUNDS}: ingest ${SLICE_SECONDS}s at full load…\n`);
      const ingestCpuBefore = cpuSeconds(ingest.child.pid) ?? Number.NaN;
      const postgresCpuBefore = cpuSeconds(postgresPid, true) ?? Number.NaN;
      const rowsBefore = await histogram(ingestUrl, 'antibody_ingest_intake_batch_rows');
      const ingestRun = await drive(ingestUrl, headers, SLICE_SECONDS);
      const rows = since(rowsBefore, await histogram(ingestUrl, 'antibody_ingest_intake_batch_rows'));
      fullLoadReports += rows.sum;
      fullLoadWrites += rows.count;
      // Saturation leaves a backlog for the processor: it is digested before anything else runs
      // (and counted in ingest's CPU per envelope).
      const started = Date.now();
      await backlogDrained();
      const drainSeconds = (Date.now() - started) / 1000;
      ingestCpu += (cpuSeconds(ingest.child.pid) ?? Number.NaN) - ingestCpuBefore;
      postgresCpu += (cpuSeconds(postgresPid, true) ?? Number.NaN) - postgresCpuBefore;
      process.stderr.write(`round ${round}/${ROUNDS}: bare node:http ${BARE_SLICE_SECONDS}s at full load…\n`);
      const bareCpuBefore = cpuSeconds(bare.child.pid) ?? Number.NaN;
      const bareRun = await drive(`http://127.0.0.1:${barePort}`, headers, BARE_SLICE_SECONDS);
      bareCpu += (cpuSeconds(bare.child.pid) ?? Number.NaN) - bareCpuBefore;
      rounds.push({ ingest: ingestRun, bare: bareRun, drainSeconds });
    }
    // Measured after a warm-up at the same rate (as wrk2 does): the first seconds after the idle
    // bare slice show a transient of their own (docs/BENCHMARKS.md), not the steady state asked for.
    process.stderr.write(`ingest: ${LATENCY_WARM_UP_SECONDS}s of warm-up, then ${LATENCY_SECONDS}s at 1,000 envelopes/s…\n`);
    const served = () => histogram(ingestUrl, 'antibody_http_request_duration_seconds', ['route="POST /api/:projectId/envelope/"', 'status_code="200"']);
    // The load generator's own stalls delay the responses it times, as ingest's delay the requests.
    const generatorLoop = monitorEventLoopDelay({ resolution: 10 });
    let atWarmedUp: Promise<[Histogram, Histogram, number]> | undefined;
    const latencyRun = await paced(ingestUrl, headers, {
      seconds: LATENCY_SECONDS,
      rate: 1000,
      warmUpSeconds: LATENCY_WARM_UP_SECONDS,
      onWarmedUp: () => {
        generatorLoop.enable();
        atWarmedUp = Promise.all([histogram(ingestUrl, 'antibody_ingest_intake_commit_seconds'), served(), eventLoopMaxMs(ingestUrl)]);
      },
    });
    generatorLoop.disable();
    const [commitBefore, servedBefore] = await atWarmedUp!;
    const eventLoopMax = await eventLoopMaxMs(ingestUrl);
    // The instrument's own floor: the same paced load on the bare server.
    process.stderr.write(`bare node:http: ${Math.round(LATENCY_SECONDS / 2)}s at 1,000 envelopes/s…\n`);
    const bareLatency = await paced(`http://127.0.0.1:${barePort}`, headers, { seconds: Math.round(LATENCY_SECONDS / 2), rate: 1000 });
    const commits = since(commitBefore, await histogram(ingestUrl, 'antibody_ingest_intake_commit_seconds'));
    const serverTimes = since(servedBefore, await served());

    // Every acknowledged envelope must end up counted (the warm-up envelopes count too). Requests
    // still in flight when autocannon stopped may commit after a first look at the backlog, so the
    // tally is taken once everything stored is counted or marked failed — or after a minute, when
    // what is still missing is lost.
    const loadAccepted = rounds.reduce((n, r) => n + r.ingest['2xx'], 0);
    const acknowledged = loadAccepted + latencyRun.ok;
    // Every report stored: the ids in ingest_intake_ids (processed rows are deleted from the intake;
    // a build from before that table kept them in ingest_intake, see INGEST_BENCH_MAIN).
    const idTable = (await pool.query<{ t: string | null }>(`SELECT to_regclass($1) AS t`, [`"${schema}".ingest_intake_ids`])).rows[0]?.t;
    const tally = async () => {
      const row = (
        await pool.query<{ counted: string; failed: string; stored: string }>(
          `SELECT (SELECT coalesce(sum(errors), 0) FROM "${schema}".ingest_release_counts WHERE service = $1) AS counted,
                  (SELECT count(*) FROM "${schema}".ingest_intake WHERE failure IS NOT NULL) AS failed,
                  (SELECT count(*) FROM ${idTable ? `"${schema}".ingest_intake_ids` : `"${schema}".ingest_intake`}) AS stored`,
          [service],
        )
      ).rows[0]!;
      return { counted: Number(row.counted), failed: Number(row.failed), stored: Number(row.stored) };
    };
    await backlogDrained();
    const settled = await waitFor(
      async () => {
        const t = await tally();
        return t.stored >= acknowledged && t.counted + t.failed === t.stored ? t : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 500, description: 'every stored report to be counted' },
    ).catch(() => tally());
    const { counted, failed, stored } = settled;
    const incidents = Number((await pool.query(`SELECT count(*) AS n FROM "${schema}".ingest_fingerprints`)).rows[0].n);
    // The intake is a queue (every report is deleted once processed): what it takes on disk after
    // all the reports of the run went through it.
    const intakeBytes = Number((await pool.query(`SELECT pg_total_relation_size($1) AS b`, [`"${schema}".ingest_intake`])).rows[0].b);
    const warmUps = stored - acknowledged;
    // Lost: acknowledged but never stored, plus stored but neither counted nor marked failed.
    const lost = Math.max(0, acknowledged - stored) + Math.max(0, stored - counted - failed);

    const ingestRates = rounds.map((r) => r.ingest['2xx'] / SLICE_SECONDS);
    const bareRates = rounds.map((r) => r.bare['2xx'] / BARE_SLICE_SECONDS);
    const ratios = rounds.map((_, i) => ingestRates[i]! / bareRates[i]!);
    const list = (values: readonly number[], digits: number) => values.map((v) => v.toFixed(digits)).join(', ');
    const bareAccepted = rounds.reduce((n, r) => n + r.bare['2xx'], 0);
    report(
      'ingest',
      {
        accepted_per_s: {
          value: median(ingestRates),
          unit: 'envelopes/s',
          goal: '>= 3000',
          note: `median of ${ROUNDS} rounds of ${SLICE_SECONDS}s (${list(ingestRates, 0)}), ${CONNECTIONS} connections, ~5 KB events, 50 fingerprints; 200 only after the Postgres commit`,
        },
        bare_per_s: { value: median(bareRates), unit: 'envelopes/s', note: `bare node:http parsing the same envelopes, ${BARE_SLICE_SECONDS}s after each ingest round (${list(bareRates, 0)})` },
        ratio_to_bare: { value: median(ratios), unit: 'x', goal: '>= 0.3', note: `median of the per-round ratios (${list(ratios, 3)})` },
        p50_ms: {
          value: quantile(latencyRun.latencies, 0.5),
          unit: 'ms',
          note: `${LATENCY_SECONDS}s of 1000 envelopes/s after ${LATENCY_WARM_UP_SECONDS}s of warm-up (p99 ${quantile(latencyRun.warmUpLatencies, 0.99).toFixed(0)} ms), paced: one due every ms, open loop, latency from when it was due; ${latencyRun.ok} answered 200, ${latencyRun.failed} not`,
        },
        p99_ms: { value: quantile(latencyRun.latencies, 0.99), unit: 'ms', goal: '<= 50' },
        bare_p99_ms: {
          value: quantile(bareLatency.latencies, 0.99),
          unit: 'ms',
          note: `the same paced load on the bare server for ${Math.round(LATENCY_SECONDS / 2)}s (p50 ${quantile(bareLatency.latencies, 0.5).toFixed(1)} ms): what the generator and loopback add`,
        },
        server_p99_ms: {
          value: quantileBound(serverTimes, 0.99) * 1000,
          unit: 'ms',
          note: `at 1000/s, measured by ingest from a request's arrival to its answer: the 99th percentile is at most this (a bucket bound of antibody_http_request_duration_seconds; mean ${((serverTimes.sum / serverTimes.count) * 1000).toFixed(1)} ms)`,
        },
        eventloop_max_ms: {
          value: eventLoopMax,
          unit: 'ms',
          note: 'at 1000/s: the longest the main thread of ingest did not get to its event loop (antibody_nodejs_eventloop_lag_max_seconds); requests arriving meanwhile wait before ingest sees them',
        },
        generator_eventloop_max_ms: {
          value: generatorLoop.max / 1e6,
          unit: 'ms',
          note: `at 1000/s: the same for the load generator's process (this bench; p99 ${(generatorLoop.percentile(99) / 1e6).toFixed(1)} ms)`,
        },
        commit_p99_ms: {
          value: quantileBound(commits, 0.99) * 1000,
          unit: 'ms',
          note: `at 1000/s: the 99th percentile of the intake writes' INSERT-to-commit time is at most this (a bucket bound of antibody_ingest_intake_commit_seconds; mean ${((commits.sum / commits.count) * 1000).toFixed(1)} ms over ${commits.count} writes); a request's time adds waiting for its write and HTTP`,
        },
        rows_per_write: {
          value: fullLoadReports / fullLoadWrites,
          unit: 'reports',
          note: 'mean reports per intake INSERT in the full-load slices (group commit; antibody_ingest_intake_batch_rows)',
        },
        lost: {
          value: lost,
          unit: 'reports',
          goal: '0',
          note: `acknowledged ${acknowledged} (+${warmUps} stored beyond the generators' count: warm-up, and requests in flight when a slice ended), counted ${counted}, failed ${failed}`,
        },
        intake_mb: {
          value: intakeBytes / 2 ** 20,
          unit: 'MiB',
          note: `the intake table with its indexes and TOAST after the run, when all ${stored} reports had gone through it (inserted, processed, deleted)`,
        },
        ingest_cpu_ms_per_envelope: {
          value: (ingestCpu * 1000) / loadAccepted,
          unit: 'ms',
          note: 'CPU time of the ingest process per envelope of the full-load slices: accepting it and processing it (until the backlog is digested)',
        },
        postgres_cpu_ms_per_envelope: {
          value: (postgresCpu * 1000) / loadAccepted,
          unit: 'ms',
          note: 'CPU time of Postgres (all its processes, including other clients\' work on a shared server) per envelope of the full-load slices, storing and processing it; NaN when the server is not on this machine',
        },
        bare_cpu_ms_per_envelope: { value: (bareCpu * 1000) / bareAccepted, unit: 'ms', note: 'CPU time of the bare server per envelope, same run' },
        drain_s: {
          value: median(rounds.map((r) => r.drainSeconds)),
          unit: 's',
          note: `time for the processor to finish the backlog after a ${SLICE_SECONDS}s full-load slice (median; ${list(rounds.map((r) => r.drainSeconds), 1)})`,
        },
      },
      {
        non2xx: { max: rounds.reduce((n, r) => n + r.ingest.non2xx, 0), latency: latencyRun.failed, errors: rounds.reduce((n, r) => n + r.ingest.errors, 0) },
        incidents,
        database: process.env['INGEST_BENCH_DATABASE'] === 'embedded' ? 'embedded Postgres (own process, default durable settings)' : 'discovered (DATABASE_URL or local Postgres)',
        command: `${process.env['INGEST_BENCH_DATABASE'] ? `INGEST_BENCH_DATABASE=${process.env['INGEST_BENCH_DATABASE']} ` : ''}node tools/bench.js ingest`,
      },
    );
  } finally {
    ingest.child.kill('SIGTERM');
    bare.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 1000));
    await store.close();
    await dropEventStore(pool, schema).catch(() => undefined);
    await pool.end();
    await infrastructure.stop();
  }
}
