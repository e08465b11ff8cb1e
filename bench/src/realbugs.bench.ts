// `npm run bench -- realbugs`: the real-bug corpus (bench/realbugs) through the real services, from
// a report sent by @sentry/node to a verdict, and our own judgement of the fix each round chose.
//
// One set of services (the five, as processes: Postgres from DATABASE_URL or 127.0.0.1:5432, else
// embedded; NATS from NATS_URL or a private nats-server on PATH, else the store-log transport). Per
// bug, one at a time: the package at its parent commit is registered as a service under care (its
// repository a shared clone of the prepared parent checkout, release = the parent commit, the
// facts' commands, `autoDeploy: false`, deploy adapter `none`, no LLM); the trigger runs as the
// application does with @sentry/node sending to ingest; the incident is followed (incidentFold)
// until its first round ends: every proposal judged, or DiagnosisFailed, PatchFailed or
// IncidentEscalated, or the deadline. Then the chosen fix is judged independently of the validator
// (bench/realbugs/judge.ts): applied to a fresh copy of the parent, built, the trigger run on it
// and compared with the upstream fix's run, the upstream fix's new tests run on it.
//
// Environment: REALBUGS_DIR (prepared checkouts, default /work/realbugs), REALBUGS_ONLY=id,id,
// REALBUGS_DEADLINE_S (per bug, default 600), REALBUGS_VALIDATOR_TIMEOUT_S (default 600),
// REALBUGS_BUDGET_S (start no further bug after this many seconds: a partial run, said so in the results).
import { spawnSync } from 'node:child_process';
import { chmodSync, createWriteStream, writeFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, type WriteStream } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { Pool } from 'pg';
import { foldEvents, serviceNameSchema, type RecordedEvent } from '@antibody/contracts';
import { appendTraced } from '@antibody/bus';
import { runCli } from '@antibody/cli';
import { currentRound, incidentFold, type IncidentState } from '@antibody/domain';
import { createEventStore, dropEventStore, migrateEventStore, type EventStore } from '@antibody/event-store';
import { freePort, isListening, startEmbeddedPostgres } from '@antibody/testing';
import { ProcessGroup, tail, waitUntilReady } from '../../tools/demo/dist/processes';
import { type Bug, loadCorpus } from '../dist/realbugs/corpus';
import { judgeFix, makeApp, sendReport, type Judgement } from '../dist/realbugs/judge';
import { median, report } from './harness';

const SERVICES = ['ingest', 'analyzer', 'patcher', 'validator', 'deployer'] as const;
type ServiceName = (typeof SERVICES)[number];

/** How far a bug's incident got in its first round. */
type Stage = 'no-report' | 'no-incident' | 'diagnosis-failed' | 'patch-failed' | 'all-rejected' | 'unproven' | 'validated' | 'escalated' | 'deadline';

interface ProposalRow {
  readonly patchId: string;
  readonly rank: number;
  readonly source: string;
  readonly templateId?: string;
  readonly files: readonly string[];
  readonly verdict: 'validated' | 'rejected' | 'unproven' | 'pending';
  readonly rejectedAt?: string;
  readonly reason?: string;
  readonly reproduction?: string;
  readonly reproductionReason?: string;
  readonly tests?: { readonly passed: number; readonly failed: number; readonly total: number };
}

interface Row {
  readonly id: string;
  readonly package: string;
  readonly language: string;
  readonly moduleSystem: string;
  readonly built: boolean;
  readonly testRunner: string;
  readonly stage: Stage;
  readonly detail?: string;
  readonly diagnosis?: { readonly type: string; readonly source?: string; readonly ruleId?: string; readonly location?: string; readonly reason?: string };
  readonly proposals: readonly ProposalRow[];
  readonly chosen?: { readonly patchId: string; readonly files: readonly string[]; readonly reproduction: string; readonly templateId?: string };
  readonly unproven?: boolean;
  readonly falseValidation?: boolean;
  readonly equivalent?: boolean;
  readonly judgeReasons?: readonly string[];
  readonly judge?: Omit<Judgement, 'falseValidation' | 'equivalent' | 'reasons'>;
  readonly escalation?: string;
  readonly times: { readonly reportToIncidentS?: number; readonly reportToValidatedS?: number; readonly reportToRoundEndS?: number; readonly judgeS?: number };
}

export async function main(): Promise<void> {
  const root = join(__dirname, '..', '..');
  const realbugsDir = resolve(process.env.REALBUGS_DIR ?? '/work/realbugs');
  const deadlineS = Number(process.env.REALBUGS_DEADLINE_S ?? 600);
  const only = process.env.REALBUGS_ONLY?.split(',').map((s) => s.trim()).filter(Boolean);
  const corpus = loadCorpus(join(root, 'bench', 'realbugs', 'bugs'));
  // REALBUGS_ONLY also sets the order (e.g. a few that cover the languages and runners first).
  const bugs = only ? only.map((id) => corpus.find((b) => b.id === id)).filter((b): b is Bug => b !== undefined) : corpus;
  const budgetMs = process.env.REALBUGS_BUDGET_S ? Number(process.env.REALBUGS_BUDGET_S) * 1000 : Infinity;
  const started = Date.now();
  if (only && bugs.length !== only.length) throw new Error(`REALBUGS_ONLY names unknown bugs: ${only.filter((id) => !corpus.some((b) => b.id === id)).join(', ')}`);
  for (const bug of bugs) {
    for (const side of ['parent', 'fix']) {
      if (!existsSync(join(realbugsDir, bug.id, side, '.realbugs-ready')))
        throw new Error(`${join(realbugsDir, bug.id, side)} is not prepared: run node bench/dist/realbugs/materialise.js --only ${bug.id} (see bench/realbugs/README.md)`);
    }
  }
  const sentryModule = require.resolve('@sentry/node', { paths: [join(root, 'examples', 'checkout-api'), root] });

  const processes = new ProcessGroup();
  const logStreams: WriteStream[] = [];
  const cleanups: Array<() => Promise<void>> = [];
  const workDir = mkdtempSync(join(tmpdir(), 'antibody-realbugs-'));
  // The validator's sandbox users must traverse into the work dir (as in the demo).
  chmodSync(workDir, 0o711);
  const logsDir = join(workDir, 'logs');
  mkdirSync(logsDir);
  let pool: Pool | undefined;
  let store: EventStore | undefined;
  let schema: string | undefined;
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      await processes.stopAll();
      for (const s of logStreams) s.end();
      await store?.close().catch(() => undefined);
      if (pool && schema && process.env.REALBUGS_KEEP !== '1') await dropEventStore(pool, schema).catch(() => undefined);
      await pool?.end().catch(() => undefined);
      for (const c of cleanups.reverse()) await c().catch(() => undefined);
      if (process.env.REALBUGS_KEEP !== '1') rmSync(workDir, { recursive: true, force: true });
    })());
  const interrupt = () => void stop().finally(() => process.exit(130));
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  process.once('exit', () => processes.killAllNow());
  const log = (line: string) => process.stderr.write(`[realbugs] ${line}\n`);

  const rows: Row[] = [];
  let transport = 'store-log';
  try {
    // 1. Postgres, NATS, the store.
    // REALBUGS_DATABASE=embedded: a private Postgres, so that no other session's long transaction on a
    // shared server holds back the store's gap-safe readers (and the figures) for minutes.
    let databaseUrl = process.env.REALBUGS_DATABASE === 'embedded' ? undefined : (process.env.DATABASE_URL ?? ((await isListening('127.0.0.1', 5432)) ? 'postgres://postgres@127.0.0.1:5432/postgres' : undefined));
    if (!databaseUrl) {
      const pg = await startEmbeddedPostgres();
      cleanups.push(() => pg.shutdown());
      databaseUrl = pg.url;
    }
    const natsUrl = process.env.NATS_URL ?? (await startNats(processes, workDir));
    transport = natsUrl ? 'jetstream' : 'store-log';
    schema = `realbugs_${Date.now().toString(36)}`;
    await migrateEventStore({ connectionString: databaseUrl, schema });
    pool = new Pool({ connectionString: databaseUrl, max: 4 });
    pool.on('error', () => undefined);
    const liveStore = createEventStore({ pool, schema });
    store = liveStore;
    const cliEnv: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, DATABASE_URL: databaseUrl, ANTIBODY_SCHEMA: schema };

    // 2. The five services, as processes (no LLM tier configured).
    const ports = { ingest: await freePort(), analyzer: await freePort(), patcher: await freePort(), validator: await freePort(), deployer: await freePort() };
    const baseEnv = (s: ServiceName): NodeJS.ProcessEnv => ({
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      DATABASE_URL: databaseUrl,
      ANTIBODY_SCHEMA: schema,
      PORT: String(ports[s]),
      SERVICE_INSTANCE_ID: `realbugs-${s}`,
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
      ...(natsUrl ? { NATS_URL: natsUrl } : {}),
    });
    const env: Record<ServiceName, NodeJS.ProcessEnv> = {
      ingest: { ...baseEnv('ingest'), INGEST_BUCKET_SECONDS: '10' },
      analyzer: { ...baseEnv('analyzer'), ANTIBODY_GIT_CACHE: join(workDir, 'git-cache') },
      patcher: { ...baseEnv('patcher'), ANTIBODY_GIT_CACHE: join(workDir, 'git-cache') },
      validator: {
        ...baseEnv('validator'),
        VALIDATOR_WORK_DIR: join(workDir, 'validator'),
        VALIDATOR_TIMEOUT_SECONDS: process.env.REALBUGS_VALIDATOR_TIMEOUT_S ?? '600',
        VALIDATOR_MEMORY_MB: '16384',
      },
      deployer: { ...baseEnv('deployer') },
    };
    await Promise.all(
      SERVICES.map((s) => {
        const file = createWriteStream(join(logsDir, `${s}.log`));
        logStreams.push(file);
        const p = processes.start(s, process.execPath, [join(root, 'services', s, 'dist', 'main.js')], { env: env[s], cwd: root, onLine: (line) => file.write(`${line}\n`) });
        return waitUntilReady(p, () => healthy(ports[s]), 90_000);
      }),
    );
    log(`services up (${transport}, schema ${schema}, logs in ${logsDir})`);

    // 3. Each bug in turn.
    for (const [i, bug] of bugs.entries()) {
      if (Date.now() - started > budgetMs) {
        log(`REALBUGS_BUDGET_S spent: ${bugs.length - i} bugs not run`);
        break;
      }
      log(`${i + 1}/${bugs.length} ${bug.id}`);
      const row = await runBug(bug, { store: liveStore, cliEnv, workDir, realbugsDir, ingestPort: ports.ingest, sentryModule, deadlineMs: deadlineS * 1000, log });
      rows.push(row);
      // Rows so far, in case the run is interrupted (bench/results/*.tmp is not committed).
      writeFileSync(join(root, 'bench', 'results', 'realbugs.rows.tmp'), `${JSON.stringify(rows, null, 2)}\n`);
      log(`${bug.id}: ${row.stage}${row.chosen ? ` chosen ${row.chosen.patchId} (${row.chosen.reproduction})` : ''}${row.falseValidation ? ' FALSE VALIDATION' : ''}${row.equivalent ? ' equivalent' : ''}${row.detail ? `: ${row.detail}` : ''}`);
      const crashed = processes.list().find((p) => p.exited());
      if (crashed) throw new Error(`${crashed.name} exited (${crashed.child.exitCode ?? crashed.child.signalCode}):\n${tail(crashed.output())}`);
    }
  } finally {
    await stop();
  }

  const validated = rows.filter((r) => r.stage === 'validated');
  const rate = (n: number, d: number) => (d === 0 ? Number.NaN : n / d);
  const falseValidations = validated.filter((r) => r.falseValidation).length;
  const equivalent = rows.filter((r) => r.equivalent).length;
  const unproven = rows.filter((r) => r.stage === 'unproven').length;
  const validatedUnproven = validated.filter((r) => r.unproven).length;
  const toValidated = validated.map((r) => r.times.reportToValidatedS).filter((v): v is number => v !== undefined);
  const ran = `${rows.length} bugs run (of ${corpus.length} in the corpus)`;
  for (const r of rows) process.stdout.write(`${r.id.padEnd(40)} ${r.stage.padEnd(17)} ${r.chosen ? `${r.chosen.patchId.slice(0, 8)} ${r.chosen.reproduction.padEnd(14)}` : ''.padEnd(24)} ${r.falseValidation ? 'FALSE' : r.equivalent ? 'equivalent' : ''}\n`);
  process.stdout.write('\n');
  report(
    'realbugs',
    {
      false_validation_rate: { value: rate(falseValidations, validated.length), unit: 'of validated', goal: '0', note: `${falseValidations} of ${validated.length} validated: the trigger still throws, or the upstream fix's new tests fail on the patch` },
      validated_rate: { value: rate(validated.length, rows.length), unit: 'of bugs', goal: '≥ 0.6', note: `${validated.length} of ${ran} got a validated fix in the first round` },
      equivalent_rate: { value: rate(equivalent, rows.length), unit: 'of bugs', goal: '≥ 0.4', note: `${equivalent}: the trigger prints what the upstream fix prints and the fix's new tests pass` },
      unproven_rate: { value: rate(unproven, rows.length), unit: 'of bugs', note: `${unproven} of ${ran} ended with a fix the tests pass but no reproduction could prove (PatchUnproven, escalated); ${validatedUnproven} validated without a reproduction (must be 0)` },
      median_report_to_validated_s: { value: median(toValidated), unit: 's', note: 'from the report (trigger start) to the chosen fix\'s PatchValidated' },
    },
    { transport, deadlineS, bugs: rows.map((r) => r.id), partial: rows.length < corpus.length, rows },
  );
}

interface BugContext {
  readonly store: EventStore;
  readonly cliEnv: NodeJS.ProcessEnv;
  readonly workDir: string;
  readonly realbugsDir: string;
  readonly ingestPort: number;
  readonly sentryModule: string;
  readonly deadlineMs: number;
  readonly log: (line: string) => void;
}

async function runBug(bug: Bug, ctx: BugContext): Promise<Row> {
  const base = { id: bug.id, package: bug.package, language: bug.language, moduleSystem: bug.moduleSystem, built: bug.built, testRunner: bug.testRunner, proposals: [] as ProposalRow[] };
  const parent = join(ctx.realbugsDir, bug.id, 'parent');
  const dir = join(ctx.workDir, bug.id);
  mkdirSync(dir, { recursive: true });
  chmodSync(dir, 0o755);

  // The repository under care: a shared clone of the parent checkout with `main` at the parent
  // commit (so the deployer's fix branch never lands in the prepared corpus).
  const repo = join(dir, 'repo');
  git(['clone', '--quiet', '--shared', '--no-checkout', parent, repo]);
  git(['-c', 'advice.detachedHead=false', 'checkout', '--quiet', '-B', 'main', bug.parentCommit], repo);
  const name = serviceNameSchema.parse(bug.id);
  await appendTraced(
    ctx.store,
    `service-${name}`,
    [
      {
        type: 'ServiceRegistered',
        data: {
          name,
          repository: { url: repo, defaultBranch: 'main' },
          commands: { install: bug.commands.install, ...(bug.commands.build ? { build: bug.commands.build } : {}), test: bug.commands.test },
          language: bug.language,
          deploy: { adapter: 'none', settings: {} },
          policy: { autoDeploy: false, allowedPaths: allowedPaths(bug), forbiddenPaths: FORBIDDEN, ...(bug.allowedErrors ? { allowedErrors: bug.allowedErrors } : {}), budgets: { perIncidentUsd: 0.5, dailyUsd: 5, monthlyUsd: 50 } },
        },
      },
    ],
    { producer: { service: 'bench', instance: userInfo().username }, correlationId: `service-${name}`, causationId: null, expectedVersion: 'no-stream' },
  );
  const key = await createIngestKey(name, ctx.cliEnv);
  // As an operator deploys the key after creating it: ingest admits it once its projection has it (a report before would be refused, and an SDK does not retry a 401).
  await waitForKey(ctx.store, name, Date.now() + 60_000);

  // The report: the trigger as the application runs it (app-parent), @sentry/node sending to ingest.
  const app = join(dir, 'app');
  makeApp(bug, parent, app);
  const t0 = Date.now();
  const sent = sendReport(bug, app, { dsn: `http://${key}@127.0.0.1:${ctx.ingestPort}/1`, release: bug.parentCommit, sentryModule: ctx.sentryModule });
  if (sent.exitCode === 0) return { ...base, stage: 'no-report', detail: 'the trigger exited normally: nothing to report', times: {} };
  const deadline = t0 + ctx.deadlineMs;
  const secondsSince = (at: string) => (new Date(at).getTime() - t0) / 1000;

  const opened = await waitForIncident(ctx.store, name, deadline);
  if (!opened) return { ...base, stage: 'no-incident', detail: `no IncidentOpened for ${name} before the deadline (trigger exit ${sent.exitCode}; ${sent.stderr.split('\n').slice(-2).join(' ')})`, times: {} };
  const { state, events, ended } = await followFirstRound(ctx.store, opened.streamId, deadline);
  const round = state.rounds[0];
  const proposals: ProposalRow[] = (round?.patchIds ?? []).map((patchId) => {
    const patch = state.patches[patchId];
    const proposal = patch?.proposal.data;
    const verdict = patch?.verdict;
    const tests = verdict?.data.tests;
    return {
      patchId,
      rank: proposal?.rank ?? 0,
      source: proposal?.source ?? '',
      ...(proposal?.templateId ? { templateId: proposal.templateId } : {}),
      files: proposal?.files ?? [],
      verdict: !verdict ? 'pending' : verdict.type === 'PatchValidated' ? 'validated' : verdict.type === 'PatchUnproven' ? 'unproven' : 'rejected',
      ...(verdict?.type === 'PatchRejected' ? { rejectedAt: verdict.data.stage ?? '', reason: verdict.data.reason.slice(0, 400) } : {}),
      ...(verdict?.type === 'PatchUnproven' ? { reason: verdict.data.reason.slice(0, 400) } : {}),
      ...(verdict?.data.reproduction ? { reproduction: verdict.data.reproduction.status, ...(verdict.data.reproduction.reason ? { reproductionReason: verdict.data.reproduction.reason.slice(0, 300) } : {}) } : {}),
      ...(tests ? { tests: { passed: tests.filter((t) => t.status === 'passed').length, failed: tests.filter((t) => t.status === 'failed').length, total: tests.length } } : {}),
    };
  });
  const diagnosis = round?.diagnosis;
  const diagnosisRow = !diagnosis
    ? undefined
    : diagnosis.type === 'DiagnosisMade'
      ? { type: diagnosis.type, source: diagnosis.data.source, ...(diagnosis.data.ruleId ? { ruleId: diagnosis.data.ruleId } : {}), location: `${diagnosis.data.location.file}:${diagnosis.data.location.line}` }
      : { type: diagnosis.type, reason: diagnosis.data.reason.slice(0, 400) };
  const reportToIncidentS = secondsSince(opened.recordedAt);
  const lastAt = events.at(-1)?.recordedAt;
  const common = {
    ...base,
    proposals,
    ...(diagnosisRow ? { diagnosis: diagnosisRow } : {}),
    ...(state.escalation ? { escalation: state.escalation.reason.slice(0, 400) } : {}),
  };
  const times = { reportToIncidentS, ...(ended && lastAt ? { reportToRoundEndS: secondsSince(lastAt) } : {}) };

  const chosenId = round?.chosen?.patchId;
  const chosen = chosenId ? state.patches[chosenId] : undefined;
  if (!chosen || chosen.verdict?.type !== 'PatchValidated') {
    const stage: Stage = !ended
      ? 'deadline'
      : diagnosis?.type === 'DiagnosisFailed'
        ? 'diagnosis-failed'
        : round?.patchFailed
          ? 'patch-failed'
          : proposals.length > 0 && proposals.some((p) => p.verdict === 'unproven') && proposals.every((p) => p.verdict === 'rejected' || p.verdict === 'unproven')
            ? 'unproven'
            : proposals.length > 0 && proposals.every((p) => p.verdict === 'rejected')
              ? 'all-rejected'
              : 'escalated';
    const detail = stage === 'patch-failed' ? round?.patchFailed?.data.reason.slice(0, 300) : stage === 'deadline' ? `still ${state.status} after ${ctx.deadlineMs / 1000} s` : undefined;
    return { ...common, stage, ...(detail ? { detail } : {}), times };
  }

  // Our own judgement of the chosen fix.
  const verdict = chosen.verdict;
  const judgeStarted = Date.now();
  let judgement: Judgement;
  try {
    judgement = judgeFix(bug, chosen.proposal.data.diff, { parent, fix: join(ctx.realbugsDir, bug.id, 'fix'), work: join(dir, 'judge') });
  } catch (error) {
    judgement = { applied: false, built: false, falseValidation: false, equivalent: false, reasons: [`the judge failed (infrastructure): ${error instanceof Error ? error.message : String(error)}`] };
  }
  const { falseValidation, equivalent, reasons, ...judge } = judgement;
  return {
    ...common,
    stage: 'validated',
    chosen: { patchId: chosen.proposal.data.patchId, files: chosen.proposal.data.files, reproduction: verdict.data.reproduction.status, ...(chosen.proposal.data.templateId ? { templateId: chosen.proposal.data.templateId } : {}) },
    unproven: verdict.data.reproduction.status !== 'reproduced',
    falseValidation,
    equivalent,
    judgeReasons: reasons,
    judge,
    times: { ...times, reportToValidatedS: secondsSince(verdict.recordedAt), judgeS: (Date.now() - judgeStarted) / 1000 },
  };
}

/** Test files, fixtures and tooling: never the package's source files. */
const FORBIDDEN = ['test/**', 'tests/**', '__tests__/**', 'spec/**', 'test.js', '**/*.test.*', '**/*.spec.*', 'benchmark/**', 'bench/**', 'scripts/**', 'package.json', '*.lock', 'package-lock.json'];

/** The package's source files: the directory (or the top-level files) holding the source the crash frame ran from. */
function allowedPaths(bug: Bug): string[] {
  const file = (bug.crash.source ?? bug.crash.frame).file;
  const slash = file.indexOf('/');
  return slash > 0 ? [`${file.slice(0, slash)}/**`] : ['*.js', '*.mjs', '*.cjs', '*.ts'];
}

async function waitForIncident(store: EventStore, service: string, deadline: number): Promise<RecordedEvent<'IncidentOpened'> | undefined> {
  while (Date.now() < deadline) {
    const { events } = await store.readAll({ limit: 100_000 });
    const opened = events.find((e): e is RecordedEvent<'IncidentOpened'> => e.type === 'IncidentOpened' && (e as RecordedEvent<'IncidentOpened'>).data.service === service);
    if (opened) return opened;
    await sleep(250);
  }
  return undefined;
}

/** Follows the incident until its first round ended (see below) or the deadline; `ended` false at the deadline. */
async function followFirstRound(store: EventStore, streamId: string, deadline: number): Promise<{ state: IncidentState; events: readonly RecordedEvent[]; ended: boolean }> {
  let seen = -1;
  let quietSince = Date.now();
  for (;;) {
    const { events } = await store.readStream(streamId);
    const state = foldEvents(incidentFold, events);
    if (state.version !== seen) {
      seen = state.version;
      quietSince = Date.now();
    }
    if (roundEnded(state, Date.now() - quietSince)) return { state, events, ended: true };
    if (Date.now() > deadline) return { state, events, ended: false };
    await sleep(500);
  }
}

/**
 * The first round ended: escalated, or its diagnosis failed, or patching failed, or every proposal
 * has a verdict (and the stream has been quiet for 3 s, so no later proposal of the round is missed).
 */
function roundEnded(state: IncidentState, quietMs: number): boolean {
  if (state.escalation) return true;
  const round = state.rounds[0];
  if (!round) return false;
  if (round.diagnosis?.type === 'DiagnosisFailed' || round.patchFailed) return true;
  if (state.rounds.length > 1 || currentRound(state) !== round) return true;
  return round.patchIds.length > 0 && round.patchIds.every((id) => state.patches[id]?.verdict) && quietMs >= 3000;
}

function git(args: string[], cwd?: string): void {
  const r = spawnSync('git', args, { cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
}

/** Waits until ingest's key projection holds a key of `project` (the registry reads it on a miss). */
async function waitForKey(store: EventStore, project: string, deadline: number): Promise<void> {
  while (Date.now() < deadline) {
    const { rows } = await store.pool.query<{ n: string }>(`SELECT count(*) AS n FROM "${store.schema}".ingest_keys WHERE project = $1`, [project]).catch(() => ({ rows: [{ n: '0' }] }));
    if (Number(rows[0]?.n) > 0) return;
    await sleep(200);
  }
  throw new Error(`ingest did not project the key of ${project} within 60 s`);
}

/** `antibody keys create`, in process; returns the key (shown once). */
async function createIngestKey(project: string, env: NodeJS.ProcessEnv): Promise<string> {
  let out = '';
  let err = '';
  const code = await runCli(['keys', 'create', '--project', project, '--label', 'realbugs', '--json'], { stdout: { write: (t: string) => void (out += t) }, stderr: { write: (t: string) => void (err += t) }, env });
  if (code !== 0) throw new Error(`antibody keys create failed (${code}): ${err.trim()}`);
  return (JSON.parse(out) as { key: string }).key;
}

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

async function healthy(port: number): Promise<boolean> {
  if (!(await isListening('127.0.0.1', port))) return false;
  try {
    return (await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(2000) })).ok;
  } catch {
    return false;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
