// A failure drill: incidents of the demo's sample application flow through the five services, each
// a real process, on a private Postgres and a private NATS (JetStream) — while the drill SIGKILLs
// each service once, restarts NATS and restarts Postgres. Afterwards the event store and the outside
// world are checked (checks.ts): no report lost, nothing doubled, no incident stuck.
//
// Incidents: one per registered service (`shop-01`…), each a clone of checkout-api at the same
// commit, because an incident is one fingerprint of one service. Each report is the real thing: the
// stable release of checkout-api runs with the Sentry SDK, a request trips one of its bugs, and the
// SDK's envelope goes through a relay to ingest. The bugs cycle through the demo's three: the pickup
// order is healed by a template (validated, committed, rolled out through the webhook adapter); the
// day-first date ends escalated at validation (its template's guard only turns the RangeError into
// another error, which the reproduction gate refuses); the empty cart ends escalated at the patch
// step (only a model could fix it, and none is configured).
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, createWriteStream, existsSync, mkdirSync, mkdtempSync, rmSync, type WriteStream } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'pg';
import { serviceNameSchema } from '@antibody/contracts';
import { appendTraced } from '@antibody/bus';
import { createEventStore, dropEventStore, migrateEventStore, type EventStore, type StoredEvent } from '@antibody/event-store';
import { runCli } from '@antibody/cli';
import { freePort, isListening, startEmbeddedPostgres, type EmbeddedPostgres } from '@antibody/testing';
import { ProcessGroup, tail, waitUntilReady, type ManagedProcess } from '../../demo/dist/processes';
import { buildRelease } from '../../demo/dist/release-build';
import { loopOutcome } from '../../demo/dist/progress';
import { CHECKOUT_BUGS, trip } from '../../demo/dist/traffic';
import { checkDrill, type DrillCheck } from './checks';
import { startOutside, startRelay, type Outside, type Relay } from './outside';

export const SERVICES = ['ingest', 'analyzer', 'patcher', 'validator', 'deployer'] as const;
export type ServiceName = (typeof SERVICES)[number];

/** One fault the drill injects. */
export type Fault = { readonly kind: 'kill'; readonly service: ServiceName } | { readonly kind: 'restart-nats' } | { readonly kind: 'restart-postgres' };

/** Every service killed once, then NATS and Postgres restarted, in the order the loop reaches them. */
export const ALL_FAULTS: readonly Fault[] = [...SERVICES.map((service) => ({ kind: 'kill' as const, service })), { kind: 'restart-nats' }, { kind: 'restart-postgres' }];

export interface DrillOptions {
  /** Antibody's repository root (services/*\/dist must be built). */
  readonly root: string;
  readonly incidents: number;
  /** The faults to inject (none: a baseline run). */
  readonly faults: readonly Fault[];
  /** How long incidents may take to end after the last report and fault (default 600 s). */
  readonly settleMs?: number;
  /** Seed of the random delay (0 to 1 s) between a fault's trigger and the fault. */
  readonly seed?: number;
  /** Reports sent at the same time (default 2). */
  readonly reportConcurrency?: number;
  readonly log?: (line: string) => void;
  /** Extra environment for every service. */
  readonly serviceEnv?: Readonly<Record<string, string>>;
}

/** What happened to one fault. */
export interface FaultRecord {
  readonly fault: string;
  /** Why it fired then: what was in flight. */
  readonly trigger: string;
  /** Milliseconds since the drill's first report. */
  readonly atMs: number;
  /** From the fault until the process (or server) answered again. */
  readonly readyMs?: number;
  /**
   * How long until the loop moved again: from a kill to the killed service's next event; after a
   * restart of NATS or Postgres, from the first event recorded after the fault that something
   * reacted to, to that reaction (what an event produced meanwhile waited). Undefined: never.
   */
  readonly recoveredMs?: number;
}

export interface DrillResult {
  readonly incidents: number;
  readonly reportsAccepted: number;
  readonly reportsRefused: number;
  readonly check: DrillCheck;
  readonly faults: readonly FaultRecord[];
  /** From the first report until every incident ended (or the deadline). */
  readonly durationMs: number;
  /** Per incident that ended: from IncidentOpened to the event that ended it. */
  readonly timeToEndMs: readonly number[];
  /** `antibody verify --all` exit code (0: every hash chain intact). */
  readonly verifyExitCode: number;
  readonly schema: string;
  readonly workDir: string;
}

const END_TYPES = new Set(['RolloutCompleted', 'IncidentResolved', 'IncidentEscalated']);
const REACTIONS = new Set(['DiagnosisMade', 'DiagnosisFailed', 'PatchProposed', 'PatchFailed', 'PatchValidated', 'PatchRejected', 'FixCommitted', 'RolloutStarted']);

/** A small seeded generator (mulberry32): the same seed, the same delays. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function killGroup(p: ManagedProcess): Promise<void> {
  if (p.exited() || p.child.pid === undefined) return Promise.resolve();
  const exited = new Promise<void>((resolve) => p.child.once('exit', () => resolve()));
  try {
    process.kill(-p.child.pid, 'SIGKILL');
  } catch {
    // already gone
  }
  return exited;
}

async function answers(url: string): Promise<boolean> {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(2000) })).ok;
  } catch {
    return false;
  }
}

/** Runs one drill; everything it started is stopped and removed before it returns or throws. */
export async function runDrill(options: DrillOptions): Promise<DrillResult> {
  const log = options.log ?? (() => undefined);
  const group = new ProcessGroup();
  const workDir = mkdtempSync(join(tmpdir(), 'antibody-drill-'));
  // The validator's sandbox users must traverse into the work dir; the embedded Postgres runs as another user.
  chmodSync(workDir, 0o711);
  const logsDir = join(workDir, 'logs');
  mkdirSync(logsDir);
  const logStreams: WriteStream[] = [];
  let pg: EmbeddedPostgres | undefined;
  let pool: Pool | undefined;
  let store: EventStore | undefined;
  let relay: Relay | undefined;
  let outside: Outside | undefined;
  const schema = `drill_${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  try {
    for (const s of SERVICES) if (!existsSync(join(options.root, 'services', s, 'dist', 'main.js'))) throw new Error(`services/${s}/dist/main.js is missing: run \`npm run build\` first`);

    // 1. A private Postgres (restarted by the drill) and a private NATS (likewise).
    pg = await startEmbeddedPostgres({ persistent: true, dir: join(workDir, 'pg') });
    const databaseUrl = pg.url;
    const natsPort = await freePort();
    const natsUrl = `nats://127.0.0.1:${natsPort}`;
    const startNats = async () => {
      const p = group.start('nats-server', 'nats-server', ['-a', '127.0.0.1', '-p', String(natsPort), '-js', '-sd', join(workDir, 'nats')], { env: { PATH: process.env.PATH } });
      await waitUntilReady(p, () => isListening('127.0.0.1', natsPort), 20_000);
      return p;
    };
    let nats = await startNats();
    await migrateEventStore({ connectionString: databaseUrl, schema });
    pool = new Pool({ connectionString: databaseUrl, max: 4 });
    pool.on('error', () => undefined);
    store = createEventStore({ pool, schema });
    log(`drill         Postgres ${databaseUrl}, NATS ${natsUrl}, schema ${schema}, work dir ${workDir}`);

    // 2. The application: one build of its stable release, one repository (bare origin + clone) per service.
    const base = join(workDir, 'checkout-api');
    const commit = execFileSync(join(options.root, 'tools', 'materialise-example.sh'), ['checkout-api', base, '--link-deps'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
    const releasesDir = join(workDir, 'releases');
    const release = buildRelease({ root: options.root, gitDir: join(base, '.git'), commit, releasesDir, service: 'checkout-api' });
    const releaseDir = join(releasesDir, release);
    const liveOutside = await startOutside();
    outside = liveOutside;
    const services = Array.from({ length: options.incidents }, (_, i) => `shop-${String(i + 1).padStart(2, '0')}`);
    const keys = new Map<string, string>();
    const origins = new Map<string, string>();
    const cliEnv: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, DATABASE_URL: databaseUrl, ANTIBODY_SCHEMA: schema };
    for (const name of services) {
      const origin = join(workDir, 'repos', `${name}.git`);
      const repo = join(workDir, 'repos', name);
      execFileSync('git', ['clone', '--quiet', '--bare', base, origin], { stdio: 'ignore' });
      execFileSync('git', ['clone', '--quiet', origin, repo], { stdio: 'ignore' });
      origins.set(name, origin);
      await appendTraced(
        store,
        `service-${name}`,
        [
          {
            type: 'ServiceRegistered',
            data: {
              name: serviceNameSchema.parse(name),
              repository: { url: repo, defaultBranch: 'main' },
              commands: { install: `ln -sfn ${join(options.root, 'node_modules')} node_modules`, build: 'npm run build', test: 'npm test' },
              language: 'typescript',
              // The maps of the build that runs (absolute: the release directory).
              sourceMaps: join(releaseDir, 'dist', '**', '*.js.map'),
              deploy: { adapter: 'webhook', settings: outside.deploySettings(name) },
              policy: { autoDeploy: true, allowedPaths: ['src/**'], forbiddenPaths: [], requireReproduction: false, budgets: { perIncidentUsd: 0.5, dailyUsd: 5, monthlyUsd: 50 } },
            },
          },
        ],
        { producer: { service: 'drill', instance: userInfo().username }, correlationId: `service-${name}`, causationId: null, expectedVersion: 'no-stream' },
      );
      keys.set(name, await createIngestKey(name, cliEnv));
    }
    log(`drill         ${services.length} services registered (checkout-api ${commit.slice(0, 12)}, webhook deploys, ingest keys)`);

    // 3. The five services, as separate processes; restartable.
    const ports = Object.fromEntries(await Promise.all(SERVICES.map(async (s) => [s, await freePort()] as const))) as Record<ServiceName, number>;
    const env = (s: ServiceName): NodeJS.ProcessEnv => ({
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      DATABASE_URL: databaseUrl,
      ANTIBODY_SCHEMA: schema,
      NATS_URL: natsUrl,
      PORT: String(ports[s]),
      SERVICE_INSTANCE_ID: `drill-${s}`,
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
      ...(s === 'ingest' ? { INGEST_BUCKET_SECONDS: '10' } : {}),
      ...(s === 'analyzer' || s === 'patcher' ? { ANTIBODY_GIT_CACHE: join(workDir, 'git-cache') } : {}),
      ...(s === 'validator' ? { VALIDATOR_WORK_DIR: join(workDir, 'validator'), VALIDATOR_TIMEOUT_SECONDS: '300', VALIDATOR_MEMORY_MB: '16384' } : {}),
      ...(s === 'deployer'
        ? {
            DRILL_HOOK_SECRET: 'drill-secret',
            DEPLOYER_STAGES: '10,50,100',
            DEPLOYER_MIN_DWELL_MS: '3000',
            DEPLOYER_MIN_CANARY_REQUESTS: '20',
            DEPLOYER_STAGE_DEADLINE_MS: '120000',
            DEPLOYER_OBSERVE_EVERY_MS: '500',
            DEPLOYER_RESUME_SCAN_MS: '5000',
            DEPLOYER_NOTIFY_WEBHOOK_URLS: `${liveOutside.url}/notify`,
            DEPLOYER_NOTIFY_MAX_PER_HOUR: '1000',
          }
        : {}),
      ...options.serviceEnv,
    });
    const running = new Map<ServiceName, ManagedProcess>();
    const startService = async (s: ServiceName) => {
      const file = createWriteStream(join(logsDir, `${s}.log`), { flags: 'a' });
      logStreams.push(file);
      const p = group.start(s, process.execPath, [join(options.root, 'services', s, 'dist', 'main.js')], { env: env(s), cwd: options.root, onLine: (line) => file.write(`${line}\n`) });
      running.set(s, p);
      await waitUntilReady(p, () => answers(`http://127.0.0.1:${ports[s]}/health/ready`), 180_000);
    };
    await Promise.all(SERVICES.map(startService));
    log(`drill         services ready (${SERVICES.map((s) => `${s}:${ports[s]}`).join(' ')}; logs in ${logsDir})`);

    relay = await startRelay({ ingestUrl: () => `http://127.0.0.1:${ports.ingest}`, serviceOfKey: (key) => [...keys].find(([, k]) => k === key)?.[0] });
    const liveRelay = relay;
    const liveStore = store;
    const t0 = Date.now();

    // 4. Reports: each service's application trips its bug once; the SDK reports through the relay.
    let reportsDone = false;
    const reports = (async () => {
      let next = 0;
      const worker = async () => {
        for (let i = next++; i < services.length; i = next++) {
          const name = services[i] as string;
          const bug = CHECKOUT_BUGS[i % CHECKOUT_BUGS.length] as (typeof CHECKOUT_BUGS)[number];
          const port = await freePort();
          const app = group.start(`app-${name}`, process.execPath, [join(releaseDir, 'dist', 'main.js')], {
            env: { PATH: process.env.PATH, HOME: process.env.HOME, PORT: String(port), SENTRY_DSN: `http://${keys.get(name)}@127.0.0.1:${new URL(liveRelay.url).port}/1`, SENTRY_RELEASE: commit, SENTRY_ENVIRONMENT: 'production' },
            cwd: releaseDir,
          });
          await waitUntilReady(app, () => isListening('127.0.0.1', port), 60_000);
          const answer = await trip(`http://127.0.0.1:${port}`, bug);
          if (answer.status !== 500) throw new Error(`${name}: the ${bug.id} request answered ${answer.status}, not 500`);
          // SIGTERM: the application closes the SDK, which flushes the report first.
          await group.stop(app, 10_000);
        }
      };
      await Promise.all(Array.from({ length: options.reportConcurrency ?? 2 }, worker));
      reportsDone = true;
    })();

    // 5. Faults, each once something it can hurt is in flight.
    const snapshot = async () => {
      try {
        return (await liveStore.readAll({ limit: 1_000_000 })).events;
      } catch {
        return undefined;
      }
    };
    const waitingFor = (events: readonly StoredEvent[]) => {
      const byStream = new Map<string, StoredEvent[]>();
      for (const e of events) if (e.streamId.startsWith('incident-')) byStream.set(e.streamId, [...(byStream.get(e.streamId) ?? []), e]);
      return [...byStream.values()].map((s) => loopOutcome(s)).filter((o) => o.status === 'running').map((o) => (o.status === 'running' ? o.waitingFor : ''));
    };
    const accepted = () => liveRelay.accepted.length;
    const n = services.length;
    const triggers: Record<string, (events: readonly StoredEvent[]) => string | undefined> = {
      ingest: () => {
        if (accepted() < Math.max(1, Math.floor(n * 0.4))) return undefined;
        return reportsDone ? `all ${n} reports accepted (none left to send)` : `${accepted()} of ${n} reports accepted, more arriving`;
      },
      analyzer: (events) => {
        const w = waitingFor(events).filter((x) => x.startsWith('DiagnosisMade')).length;
        if (w > 0) return `${w} incident(s) waiting for a diagnosis`;
        return accepted() >= Math.max(2, Math.floor(n * 0.6)) && !reportsDone ? `reports still arriving (${accepted()} of ${n} accepted)` : undefined;
      },
      patcher: (events) => {
        const w = waitingFor(events).filter((x) => x.startsWith('PatchProposed')).length;
        if (w > 0) return `${w} incident(s) waiting for a patch`;
        return accepted() >= Math.max(3, Math.floor(n * 0.8)) && !reportsDone ? `reports still arriving (${accepted()} of ${n} accepted)` : undefined;
      },
      validator: (events) => {
        const w = waitingFor(events).filter((x) => x.startsWith('PatchValidated')).length;
        return w > 0 ? `${w} incident(s) waiting for a verdict` : undefined;
      },
      deployer: (events) => {
        const w = waitingFor(events).filter((x) => x.startsWith('StageAdvanced')).length;
        return w > 0 ? `${w} rollout(s) running` : undefined;
      },
      any: (events) => {
        const w = waitingFor(events).length;
        return w > 0 ? `${w} incident(s) in flight` : undefined;
      },
    };
    const rng = random(options.seed ?? 1);
    const records: (FaultRecord & { readonly at: number; readonly service?: ServiceName })[] = [];
    const faultsDone = (async () => {
      for (const fault of options.faults) {
        const name = fault.kind === 'kill' ? `kill ${fault.service}` : fault.kind;
        const trigger = triggers[fault.kind === 'kill' ? fault.service : 'any'] as (events: readonly StoredEvent[]) => string | undefined;
        const giveUp = Date.now() + 600_000;
        let why: string | undefined;
        for (;;) {
          const events = await snapshot();
          why = events ? trigger(events) : undefined;
          if (why) break;
          if (Date.now() > giveUp) {
            why = 'nothing of its kind in flight within 10 minutes';
            break;
          }
          await sleep(200);
        }
        await sleep(Math.floor(rng() * 1000));
        const at = Date.now();
        log(`fault         ${name} (${why}) at +${((at - t0) / 1000).toFixed(1)} s`);
        if (fault.kind === 'kill') {
          await killGroup(running.get(fault.service) as ManagedProcess);
          await sleep(1000);
          await startService(fault.service);
        } else if (fault.kind === 'restart-nats') {
          await killGroup(nats);
          await sleep(1000);
          nats = await startNats();
        } else {
          await (pg as EmbeddedPostgres).stop();
          await sleep(2000);
          await (pg as EmbeddedPostgres).start();
        }
        const readyMs = Date.now() - at;
        log(`fault         ${name}: back after ${(readyMs / 1000).toFixed(1)} s`);
        records.push({ fault: name, trigger: why, atMs: at - t0, readyMs, at, ...(fault.kind === 'kill' ? { service: fault.service } : {}) });
      }
    })();

    // 6. Every incident at an end, or the deadline.
    await Promise.all([reports, faultsDone]);
    while (liveRelay.pending() > 0) await sleep(250);
    const settleUntil = Date.now() + (options.settleMs ?? 600_000);
    let events: readonly StoredEvent[] = [];
    for (;;) {
      events = (await snapshot()) ?? events;
      const opened = new Set(events.filter((e) => e.type === 'IncidentOpened').map((e) => (e.data as { service: string }).service));
      const runningNow = waitingFor(events).length;
      if ((opened.size >= liveRelay.accepted.length && runningNow === 0) || Date.now() > settleUntil) break;
      await sleep(1000);
    }
    const durationMs = Date.now() - t0;
    // Deliveries the deployer may still be making (a notice) have a moment to land before effects are read.
    await sleep(2000);
    events = (await liveStore.readAll({ limit: 1_000_000 })).events;

    // 7. Effects and checks.
    const fixCommits = new Map<string, number>();
    for (const origin of origins.values()) {
      const branches = execFileSync('git', ['--git-dir', origin, 'for-each-ref', '--format=%(refname:short)', 'refs/heads/antibody'], { encoding: 'utf8' }).split('\n').filter(Boolean);
      for (const branch of branches) fixCommits.set(branch.replace(/^antibody\//, ''), Number(execFileSync('git', ['--git-dir', origin, 'rev-list', '--count', `main..${branch}`], { encoding: 'utf8' }).trim()));
    }
    const check = checkDrill({ events, reports: liveRelay.accepted, services, effects: { fixCommits, canaryStarts: outside.canaryStarts, notices: outside.notices } });
    const verifyExitCode = await runCli(['verify', '--all'], { stdout: { write: () => undefined }, stderr: { write: (t: string) => void log(`verify        ${t.trim()}`) }, env: cliEnv });
    const faults = records.map(({ at, service, ...r }) => ({ ...r, recoveredMs: recoveredAfter(events, at, service) }));
    const timeToEndMs = endTimes(events);
    log(`drill         ${check.endStates.size} incidents: lost ${check.lost.length}, doubled ${check.doubled.length}, stuck ${check.stuck.length}; ${(durationMs / 1000).toFixed(0)} s`);
    return { incidents: n, reportsAccepted: liveRelay.accepted.length, reportsRefused: liveRelay.refused.length, check, faults, durationMs, timeToEndMs, verifyExitCode, schema, workDir };
  } catch (error) {
    const outputs = group
      .list()
      .filter((p) => SERVICES.includes(p.name as ServiceName))
      .map((p) => `--- ${p.name}\n${tail(p.output(), 10)}`)
      .join('\n');
    throw new Error(`${(error as Error).message}\n${outputs}`, { cause: error });
  } finally {
    await group.stopAll(3000);
    for (const s of logStreams) s.end();
    await relay?.close();
    await outside?.close();
    await store?.close().catch(() => undefined);
    if (pool && process.env.DRILL_KEEP !== '1') await dropEventStore(pool, schema).catch(() => undefined);
    await pool?.end().catch(() => undefined);
    await pg?.shutdown().catch(() => undefined);
    if (process.env.DRILL_KEEP !== '1') rmSync(workDir, { recursive: true, force: true });
  }
}

/** See {@link FaultRecord.recoveredMs}. */
function recoveredAfter(events: readonly StoredEvent[], at: number, service: ServiceName | undefined): number | undefined {
  const time = (e: StoredEvent) => new Date(e.recordedAt).getTime();
  if (service) {
    const next = events.find((e) => time(e) > at && e.metadata.producer.service.endsWith(service));
    return next ? time(next) - at : undefined;
  }
  const byId = new Map(events.map((e) => [e.eventId, e]));
  let first: { cause: number; reaction: number } | undefined;
  for (const e of events) {
    const cause = REACTIONS.has(e.type) && e.metadata.causationId ? byId.get(e.metadata.causationId) : undefined;
    if (!cause || time(cause) <= at) continue;
    if (!first || time(cause) < first.cause) first = { cause: time(cause), reaction: time(e) };
  }
  return first ? first.reaction - first.cause : undefined;
}

function endTimes(events: readonly StoredEvent[]): number[] {
  const opened = new Map(events.filter((e) => e.type === 'IncidentOpened').map((e) => [e.streamId, new Date(e.recordedAt).getTime()]));
  const ended = new Map<string, number>();
  for (const e of events) if (END_TYPES.has(e.type) && opened.has(e.streamId)) ended.set(e.streamId, new Date(e.recordedAt).getTime());
  return [...ended].map(([stream, end]) => end - (opened.get(stream) as number));
}

async function createIngestKey(project: string, env: NodeJS.ProcessEnv): Promise<string> {
  let out = '';
  let err = '';
  const code = await runCli(['keys', 'create', '--project', project, '--label', 'drill', '--json'], { stdout: { write: (t: string) => void (out += t) }, stderr: { write: (t: string) => void (err += t) }, env });
  if (code !== 0) throw new Error(`antibody keys create failed (${code}): ${err.trim()}`);
  return (JSON.parse(out) as { key: string }).key;
}
