// `npm run demo`: the whole healing loop on this machine. A real TypeScript API (examples/checkout-api)
// runs as a fleet, real traffic trips one of its latent bugs, and Antibody opens an incident,
// diagnoses it, writes a patch, proves it with the application's own tests, commits it and rolls it
// out in canary stages. Exit 0 when the fix serves all traffic; 1 with the stage that stopped the
// loop and why; 2 on bad usage; 130 on Ctrl-C (every process it started is stopped first).
//
//   node tools/demo/dist/main.js [--bug pickup-without-address|day-first-date|empty-cart] [--deadline <s>]
import { formatStreamHeader, formatTimelineLine, runCli } from '@antibody/cli';
import { antibodyRoot, startLoop, LoopTimeoutError, type Loop } from './loop';
import { ProcessGroup } from './processes';
import { traceIdOf } from './trace';
import { bugById, CHECKOUT_BUGS, trip, type DemoBug } from './traffic';

const say = (line = '') => process.stdout.write(`${line}\n`);

function parseArgs(argv: readonly string[]): { bug: DemoBug; deadlineS: number } {
  let bug: DemoBug = CHECKOUT_BUGS[0] as DemoBug;
  let deadlineS = 420;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = argv[i + 1];
    if (arg === '--bug' && value) {
      bug = bugById(value);
      i++;
    } else if (arg === '--deadline' && value && /^\d+$/.test(value) && Number(value) > 0) {
      deadlineS = Number(value);
      i++;
    } else {
      throw new RangeError(`unknown argument ${JSON.stringify(arg)}; usage: demo [--bug ${CHECKOUT_BUGS.map((b) => b.id).join('|')}] [--deadline <seconds>]`);
    }
  }
  return { bug, deadlineS };
}

async function main(): Promise<number> {
  let args: ReturnType<typeof parseArgs>;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`demo: ${(error as Error).message}\n`);
    return 2;
  }
  const deadline = Date.now() + args.deadlineS * 1000;
  let loop: Loop | undefined;
  let interrupted = false;
  const processes = new ProcessGroup();
  // Whatever happens, no process group the demo started outlives it.
  process.on('exit', () => processes.killAllNow());
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) return;
    interrupted = true;
    say(`\n${signal}: stopping every process the demo started…`);
    void (loop ? loop.stop() : processes.stopAll()).finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // The overall deadline also bounds start-up: a stuck start never hangs the demo.
  const watchdog = setTimeout(() => {
    say(`\ndemo: the overall deadline of ${args.deadlineS} s passed; stopping.`);
    void (loop ? loop.stop() : processes.stopAll()).finally(() => process.exit(1));
  }, args.deadlineS * 1000 + 30_000);
  watchdog.unref();

  say('Antibody demo: the healing loop on one machine\n');
  try {
    loop = await startLoop({ root: antibodyRoot(), log: (line) => say(`  ${line}`), keepWorkDir: true, processes });
  } catch (error) {
    say(`\ndemo: could not start: ${(error as Error).message}`);
    return 1;
  }
  if (interrupted) return 130;
  try {
    return await run(loop, args.bug, deadline);
  } finally {
    if (!interrupted) await loop.stop();
  }
}

async function run(loop: Loop, bug: DemoBug, deadline: number): Promise<number> {
  say(`\nTraffic is flowing (${loop.appUrl}). A customer now sends a ${bug.name}:`);
  say(`  POST ${bug.path} ${JSON.stringify(bug.body)}`);
  const answer = await loop.trip(bug);
  say(`  → HTTP ${answer.status} ${JSON.stringify(answer.body)}  (the SDK reports it to ingest)\n`);
  say('Progress (from the incident stream in the store):');
  let incident;
  try {
    incident = await loop.incidentFor(bug, deadline);
  } catch (error) {
    if (!(error instanceof LoopTimeoutError)) throw error;
    say(`\nThe loop stopped at INGEST: ${error.message}`);
    return 1;
  }
  const streamId = incident.streamId;
  const { outcome, events } = await loop.follow(streamId, deadline, (line) => say(`  ${line.text}`));
  say('');
  if (outcome.status !== 'healed') {
    if (outcome.status === 'running') say(`The loop did not finish before the deadline: it is waiting for ${outcome.waitingFor}.`);
    else say(`The loop stopped at ${outcome.stage.toUpperCase()}:\n  ${outcome.reason}`);
    say('\nThe incident\'s last events:');
    for (const e of events.slice(-6)) say(`  ${formatTimelineLine(e)}`);
    say(`\nLogs: ${loop.logsDir}    replay: DATABASE_URL=… ANTIBODY_SCHEMA=${loop.schema} npx antibody replay ${streamId}`);
    return 1;
  }

  const after = await trip(loop.appUrl, bug);
  say(`The same request on the promoted release ${outcome.release}: HTTP ${after.status} ${JSON.stringify(after.body)}`);
  say(`Traffic during the demo: ${loop.traffic.stats.sent} requests, ${loop.traffic.stats.serverErrors} answered with a server error\n`);
  // The loop's own checks (the application's tests, a reproduction that fails on the same exception
  // type and message, the canary judge) can all pass for a patch that only changes the error.
  const stillFails = after.status >= 500 || after.status === 0;
  say('The replayed timeline (`antibody replay`):');
  say(formatStreamHeader(streamId, events));
  for (const e of events) say(`  ${formatTimelineLine(e)}`);
  const traceId = traceIdOf(events);
  const fix = events.find((e) => e.type === 'FixCommitted')?.data as { branch: string; commitSha: string } | undefined;
  say(`\nTrace id: ${traceId ?? '(none recorded)'}`);
  say('\n`antibody verify --all` (every stream\'s hash chain):');
  const verified = await runCli(['verify', '--all'], { stdout: { write: (t: string) => process.stdout.write(`  ${t}`) }, stderr: { write: (t: string) => process.stdout.write(`  ${t}`) }, env: loop.cliEnv });
  if (verified !== 0) {
    say(`The hash chains did not verify (exit ${verified}).`);
    return 1;
  }
  say('\nWhere to look next:');
  say(`  the fix         git -C ${loop.repoDir} show ${fix?.branch ?? 'antibody/…'}`);
  if (loop.embeddedPostgres) say('  the timeline    printed above; the embedded Postgres stops with the demo (set DATABASE_URL to keep the store and replay it later)');
  else say(`  the timeline    DATABASE_URL=<your DATABASE_URL> ANTIBODY_SCHEMA=${loop.schema} npx antibody replay ${streamId}   (also: antibody verify --all, antibody tail)`);
  say(`  service logs    ${loop.logsDir}`);
  say('  the loop        docs/concepts.md, docs/rollout.md; register your own service: docs/registering-a-service.md');
  if (stillFails) {
    const patch = events.find((e) => e.type === 'PatchProposed' && (e.data as { patchId: string }).patchId === outcome.patchId)?.data as { templateId?: string; rationale?: string } | undefined;
    say(`\nNOT HEALED: the rollout completed, but the request that tripped the bug still fails (HTTP ${after.status}).`);
    say(`  The rolled-out patch (${patch?.templateId ?? 'patch'} ${outcome.patchId.slice(0, 8)}) passed the application's tests, its reproduction (which`);
    say('  fails only on the same exception type and message) and the canary judge (no worse than stable),');
    say(`  yet it only changes the error: ${patch?.rationale?.split('\n')[0] ?? ''}`);
    return 1;
  }
  return 0;
}

void main().then(
  (code) => process.exit(code),
  (error: Error) => {
    process.stderr.write(`demo: ${error.stack ?? error.message}\n`);
    process.exit(1);
  },
);
