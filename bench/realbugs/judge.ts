// The real-bug benchmark's own judge, independent of Antibody's validator: the report an
// application sends (the trigger run with @sentry/node), and the check of the fix a healing round
// chose: its diff applied to a fresh copy of the parent checkout, the trigger run there and compared
// with the upstream fix's run, and the upstream fix's new tests run on the patched copy.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Bug } from './corpus';
import { OBSERVER, TRIGGER_TIMEOUT_MS } from './trigger';

const TESTS_TIMEOUT_MS = Number(process.env.REALBUGS_TESTS_TIMEOUT_S ?? 300) * 1000;


/**
 * Preloaded into the reporting run: @sentry/node, unmodified, initialised as an application does.
 * Its default integrations send the uncaught exception and flush before the process exits; an
 * unhandled rejection (an ESM trigger's top-level await) is made fatal the same way.
 */
function sentryInit(sentryModule: string): string {
  return `'use strict';
const Sentry = require(${JSON.stringify(sentryModule)});
Sentry.init({
  dsn: process.env.SENTRY_DSN,
  release: process.env.SENTRY_RELEASE,
  environment: 'production',
  includeLocalVariables: true,
  // Contexts are cut at depth 3 by default ("[Array]"): the named call's arguments need more.
  normalizeDepth: 10,
  integrations: [Sentry.onUnhandledRejectionIntegration({ mode: 'strict' })],
});
// The application names the call it makes, so that a failure of it can be made again.
if (process.env.REALBUGS_CALL) Sentry.setContext('antibody', { call: JSON.parse(process.env.REALBUGS_CALL) });
`;
}

/** How a trigger run ended, with what it printed. */
export type TriggerRun =
  | { readonly outcome: 'threw'; readonly type: string; readonly message: string; readonly stdout: string }
  | { readonly outcome: 'returned'; readonly exitCode: number; readonly stdout: string }
  | { readonly outcome: 'no-result'; readonly exitCode: number | null; readonly stdout: string; readonly stderr: string };

/** An application directory: `node_modules/<package>` links to `checkout`, the trigger beside it, as materialise.ts builds app-parent. */
export function makeApp(bug: Bug, checkout: string, dir: string): string {
  rmSync(dir, { recursive: true, force: true });
  const link = join(dir, 'node_modules', ...bug.package.split('/'));
  mkdirSync(dirname(link), { recursive: true });
  symlinkSync(checkout, link, 'dir');
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: `realbugs-app-${bug.id}`, private: true }, null, 2));
  const script = join(dir, bug.trigger.kind === 'esm' ? 'trigger.mjs' : 'trigger.cjs');
  writeFileSync(script, bug.trigger.code);
  return script;
}

function baseEnv(): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', TZ: 'UTC', LANG: 'C.UTF-8' };
}

/**
 * The report: the trigger run in `app` with @sentry/node sending to `dsn` (release = the parent
 * commit). Returns when the process exited (the SDK flushed before it did).
 */
export function sendReport(bug: Bug, app: string, options: { readonly dsn: string; readonly release: string; readonly sentryModule: string }): { exitCode: number | null; stderr: string } {
  const script = join(app, bug.trigger.kind === 'esm' ? 'trigger.mjs' : 'trigger.cjs');
  const init = join(app, 'sentry-init.cjs');
  writeFileSync(init, sentryInit(options.sentryModule));
  const run = spawnSync(process.execPath, ['--require', init, script], {
    cwd: app,
    timeout: TRIGGER_TIMEOUT_MS,
    encoding: 'utf8',
    env: { ...baseEnv(), SENTRY_DSN: options.dsn, SENTRY_RELEASE: options.release, ...(bug.call ? { REALBUGS_CALL: JSON.stringify(bug.call) } : {}) },
  });
  return { exitCode: run.status, stderr: `${run.error?.message ?? ''}${run.stderr ?? ''}`.slice(-2000) };
}

/** Runs the trigger of `app` with the observer; its stdout is what the trigger printed (its result). */
export function runTrigger(bug: Bug, app: string): TriggerRun {
  const script = join(app, bug.trigger.kind === 'esm' ? 'trigger.mjs' : 'trigger.cjs');
  const observer = join(app, 'observer.cjs');
  writeFileSync(observer, OBSERVER);
  const resultFile = join(app, 'judge-result.json');
  rmSync(resultFile, { force: true });
  const run = spawnSync(process.execPath, ['--require', observer, script], { cwd: app, timeout: TRIGGER_TIMEOUT_MS, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, env: { ...baseEnv(), REALBUGS_RESULT: resultFile } });
  const stdout = run.stdout ?? '';
  if (!existsSync(resultFile)) return { outcome: 'no-result', exitCode: run.status, stdout, stderr: `${run.error?.message ?? ''}${run.stderr ?? ''}`.slice(-2000) };
  const result = JSON.parse(readFileSync(resultFile, 'utf8')) as { outcome: 'threw'; type: string; message: string } | { outcome: 'returned'; exitCode: number };
  return { ...result, stdout };
}

export function describeRun(run: TriggerRun): string {
  if (run.outcome === 'threw') return `threw ${run.type}: ${run.message}`;
  if (run.outcome === 'returned') return `returned (exit ${run.exitCode})`;
  return `no result (exit ${run.exitCode}): ${run.stderr.split('\n').slice(-3).join(' ')}`;
}

function sh(command: string, cwd: string, timeout: number): { ok: boolean; output: string } {
  const result = spawnSync('sh', ['-c', command], {
    cwd,
    timeout,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, ...baseEnv(), CI: '1', HUSKY: '0', FORCE_COLOR: '0', NO_COLOR: '1' },
  });
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}`;
  return { ok: result.status === 0 && !result.error, output: result.error ? `${result.error.message}\n${output}` : output };
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * The command that runs only `files` with the package's own runner, keeping the flags its test
 * command gives that runner (e.g. mocha's `--require ./runtime`). Null when the runner cannot be
 * aimed at single files from here.
 */
export function fixTestsCommand(bug: Bug, files: readonly string[]): string | null {
  const list = files.map(quote).join(' ');
  const test = bug.commands.test;
  switch (bug.testRunner) {
    case 'mocha': {
      const requires = [...test.matchAll(/--require\s+(\S+)/g)].map((m) => `--require ${m[1]}`).join(' ');
      return `npx mocha ${requires} ${list}`.replace(/\s+/g, ' ');
    }
    case 'jest':
      return `npx jest --ci ${list}`;
    case 'vitest':
      return `npx vitest run ${list}`;
    case 'ava':
      return `npx ava ${list}`;
    case 'tap':
      return `npx tap ${list}`;
    case 'tape':
      return files.map((f) => `node ${quote(f)}`).join(' && ');
    case 'node:test':
      return `node --test ${list}`;
    case 'nodeunit':
      return `npx nodeunit ${list}`;
    case 'jasmine': {
      // The package's own jasmine runner script with the files in place of its spec glob.
      const m = /^(.*?)\s+'[^']*'\s*$/.exec(test);
      return m ? `${m[1]} ${list}` : null;
    }
    default:
      return null;
  }
}

/** The upstream fix's new tests: copied from the fix checkout into `dir` and run there; null when there are none. */
export function runFixTests(bug: Bug, fixCheckout: string, dir: string): { ok: boolean; command: string; output: string } | null {
  const files = [...new Set(bug.fixTests.map((t) => t.file))];
  if (files.length === 0) return null;
  const command = fixTestsCommand(bug, files);
  if (!command) return { ok: false, command: '(none)', output: `no way to run ${bug.testRunner} on single files` };
  for (const file of files) {
    if (dir === fixCheckout) break;
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    copyFileSync(join(fixCheckout, file), join(dir, file));
  }
  const run = sh(command, dir, TESTS_TIMEOUT_MS);
  return { ok: run.ok, command, output: run.ok ? '' : run.output.slice(-1500) };
}

/** A fresh copy of `checkout` at `commit` in `dir` (a shared clone), with the checkout's installed node_modules linked in. */
export function freshCopy(checkout: string, commit: string, dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dirname(dir), { recursive: true });
  const git = (args: string[], cwd?: string) => {
    const r = spawnSync('git', args, { cwd, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
  };
  git(['clone', '--quiet', '--shared', '--no-checkout', checkout, dir]);
  git(['-c', 'advice.detachedHead=false', 'checkout', '--quiet', commit], dir);
  symlinkSync(join(checkout, 'node_modules'), join(dir, 'node_modules'), 'dir');
}

/** Applies a unified diff in `dir`; the reason when it does not apply. */
export function applyDiff(dir: string, diff: string): string | undefined {
  const patchFile = join(dir, '..', 'chosen.patch');
  writeFileSync(patchFile, diff.endsWith('\n') ? diff : `${diff}\n`);
  const r = spawnSync('git', ['apply', '--whitespace=nowarn', patchFile], { cwd: dir, encoding: 'utf8' });
  return r.status === 0 ? undefined : `git apply failed: ${r.stderr.trim()}`;
}

/** The package's build command in `dir` (when it is built). */
export function build(bug: Bug, dir: string): { ok: boolean; output: string } {
  if (!bug.commands.build) return { ok: true, output: '' };
  return sh(bug.commands.build, dir, TESTS_TIMEOUT_MS);
}

/** What the judge concluded about the chosen fix. */
export interface Judgement {
  readonly applied: boolean;
  readonly built: boolean;
  readonly patchedTrigger?: TriggerRun;
  readonly upstreamTrigger?: TriggerRun;
  /** Null when the fix came without tests. */
  readonly fixTests?: { readonly ok: boolean; readonly command: string; readonly output: string } | null;
  /** The fix's new tests on the upstream fix checkout itself: when they fail there, they say nothing about the patch. */
  readonly fixTestsControl?: { readonly ok: boolean; readonly command: string; readonly output: string } | null;
  readonly falseValidation: boolean;
  readonly equivalent: boolean;
  /** Why it is a false validation, or why not equivalent. */
  readonly reasons: readonly string[];
}

/**
 * Judges the chosen fix: `diff` applied to a fresh copy of the parent checkout, built, the trigger
 * run on it and on the upstream fix, the fix's new tests run on the patched copy (and, as a
 * control, on the fix checkout). A false validation: the patched trigger still throws (or gives no
 * result), the diff does not apply or build, or the fix's new tests fail on the patch while they
 * pass on the upstream fix. Equivalent: the patched trigger exits normally with the upstream fix's
 * stdout, and the fix's new tests pass.
 */
export function judgeFix(bug: Bug, diff: string, paths: { readonly parent: string; readonly fix: string; readonly work: string }): Judgement {
  const copy = join(paths.work, 'patched');
  freshCopy(paths.parent, bug.parentCommit, copy);
  const notApplied = applyDiff(copy, diff);
  if (notApplied) return { applied: false, built: false, falseValidation: true, equivalent: false, reasons: [notApplied] };
  const built = build(bug, copy);
  if (!built.ok) return { applied: true, built: false, falseValidation: true, equivalent: false, reasons: [`the patched copy does not build: ${built.output.slice(-500)}`] };
  const patchedTrigger = runTrigger(bug, (makeApp(bug, copy, join(paths.work, 'app-patched')), join(paths.work, 'app-patched')));
  const upstreamTrigger = runTrigger(bug, (makeApp(bug, paths.fix, join(paths.work, 'app-fix')), join(paths.work, 'app-fix')));
  const fixTests = runFixTests(bug, paths.fix, copy);
  const fixTestsControl = fixTests ? runFixTests(bug, paths.fix, paths.fix) : null;
  const reasons: string[] = [];
  let falseValidation = false;
  if (patchedTrigger.outcome !== 'returned' || patchedTrigger.exitCode !== 0) {
    falseValidation = true;
    reasons.push(`the trigger on the patched copy ${describeRun(patchedTrigger)}`);
  } else if (upstreamTrigger.outcome === 'returned' && patchedTrigger.stdout !== upstreamTrigger.stdout) {
    reasons.push(`the trigger prints ${JSON.stringify(patchedTrigger.stdout.trim().slice(0, 200))}, the upstream fix ${JSON.stringify(upstreamTrigger.stdout.trim().slice(0, 200))}`);
  }
  if (fixTests && !fixTests.ok) {
    if (fixTestsControl?.ok) {
      falseValidation = true;
      reasons.push(`the upstream fix's new tests fail on the patch (${fixTests.command})`);
    } else {
      reasons.push(`the upstream fix's new tests fail on the upstream fix too here (${fixTests.command}): not counted against the patch`);
    }
  }
  const triggerEqual = patchedTrigger.outcome === 'returned' && patchedTrigger.exitCode === 0 && upstreamTrigger.outcome === 'returned' && patchedTrigger.stdout === upstreamTrigger.stdout;
  const testsEqual = !fixTests || fixTests.ok || fixTestsControl?.ok === false;
  if (!fixTests) reasons.push('the upstream fix came without tests: equivalence judged on the trigger alone');
  return { applied: true, built: true, patchedTrigger, upstreamTrigger, fixTests, fixTestsControl, falseValidation, equivalent: !falseValidation && triggerEqual && testsEqual, reasons };
}
