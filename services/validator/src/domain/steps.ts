/**
 * What each step of a validation means for the verdict: go on, or reject the patch at that stage
 * and say why. Pure: the steps' runs (see the infrastructure's `validation-steps.ts`) come in as
 * summaries; the order of the steps is `validatePatch`'s.
 */
import type { EventData, PatchId } from '@antibody/contracts';
import { checkPaths, readDiff, type PathPolicy } from '@antibody/fix-kit';
import { additionDiff, type GeneratedReproduction, type NoReproduction } from './reproduction';
import type { TestStatus } from './test-results';
import { mergeRuns, type ReproductionOutcome, type RunSummary, type TestEvidence, type Verdict } from './verdict';

/** The validation step a rejection names. */
export type RejectStage = NonNullable<EventData<'PatchRejected'>['stage']>;

/** The patch is rejected at `stage`, for `reason` (a sentence a person can read). */
export interface Rejection {
  readonly kind: 'rejected';
  readonly stage: RejectStage;
  readonly reason: string;
  readonly violations?: readonly string[];
}

/** A rejection at `stage`. */
export function rejectedAt(stage: RejectStage, reason: string, violations?: readonly string[]): Rejection {
  return { kind: 'rejected', stage, reason, ...(violations && violations.length > 0 ? { violations } : {}) };
}

/** Whether a step's outcome is a rejection. */
export function isRejection<T extends object>(outcome: T | Rejection): outcome is Rejection {
  return 'kind' in outcome && outcome.kind === 'rejected';
}

/**
 * Policy: the diff must be readable and name a file, and every file it names (old and new names of
 * renames both) must be one the service's policy lets a patch change (fix-kit's one glob dialect).
 */
export function decidePolicy(diff: string, policy: PathPolicy): Rejection | undefined {
  const read = readDiff(diff);
  if (read.kind === 'unreadable') return rejectedAt('apply', `The diff cannot be read (${read.problem}).`);
  const paths = [...new Set(read.files.flatMap((f) => [f.oldPath, f.newPath].filter((p): p is string => p !== undefined)))];
  if (paths.length === 0) return rejectedAt('apply', 'The diff names no file to change.');
  const violations = checkPaths(paths, policy).map((v) => `${v.path} ${v.reason}`);
  if (violations.length > 0) return rejectedAt('policy', `The patch touches paths the service's policy forbids: ${violations.join('; ')}.`, violations);
  return undefined;
}

/** Prepare: the repository or the release cannot be checked out (`problem` is the workspace's message). */
export function prepareFailed(problem: string): Rejection {
  return rejectedAt('prepare', `${problem}.`);
}

/** Apply: the patch does not apply at the release (`problem` is git's message). */
export function applyFailed(problem: string): Rejection {
  return rejectedAt('apply', `${problem}.`);
}

/** Install: a failing install says nothing about the patch, but nothing can be validated without it. */
export function decideInstall(run: RunSummary): Rejection | undefined {
  if (run.exitCode === 0) return undefined;
  return rejectedAt('install', `The install command failed on the unpatched release (${exitText(run)}); the patch cannot be validated.`);
}

/** Baseline: the unpatched release must build, or there is nothing to compare the patch with. */
export function decideBaselineBuild(run: RunSummary): Rejection | undefined {
  if (run.exitCode === 0) return undefined;
  return rejectedAt('baseline', `The build command fails on the unpatched release (${exitText(run)}); the patch cannot be validated.`);
}

/** Build: the patched tree must build. */
export function decidePatchedBuild(run: RunSummary): Rejection | undefined {
  if (run.exitCode === 0) return undefined;
  return rejectedAt('build', `The build fails with the patch (${exitText(run)}).`, run.violations);
}

/** Whether the baseline run may be cached: a run stopped by its time limit proves nothing. */
export function baselineCacheable(run: RunSummary): boolean {
  return !run.timedOut;
}

/**
 * Tests: after a re-run of the patched tree, the suspects (tests that newly failed) that are still
 * suspect: those that did not pass in it.
 */
export function stillSuspect(suspects: ReadonlySet<string>, rerun: RunSummary): Set<string> {
  const left = new Set(suspects);
  for (const t of rerun.results.tests) if (t.status === 'passed') left.delete(t.name);
  return left;
}

/** Tests: whether to re-run the patched tree (flaky detection) after `done` re-runs. */
export function rerunPatchedTests(done: number, maxReruns: number, suspects: ReadonlySet<string>, patched: RunSummary): boolean {
  return done < maxReruns && suspects.size > 0 && !patched.timedOut;
}

/** The generated reproduction's status in one run (`flaky` within one run counts as failed), or undefined when it did not run. */
export function reproductionStatusIn(run: RunSummary, testName: string): ReproductionRun | undefined {
  for (const t of mergeRuns([run.results]).values()) {
    if (t.name === testName || t.name.endsWith(` > ${testName}`)) return { status: t.status === 'flaky' ? 'failed' : t.status, ...(t.message !== undefined ? { message: t.message } : {}) };
  }
  return undefined;
}

/** How the reproduction ended in one run. */
export interface ReproductionRun {
  readonly status: TestStatus;
  readonly message?: string;
}

/** The reproduction's status with the patch, when it did not run at all. */
export const REPRODUCTION_DID_NOT_RUN: ReproductionRun = { status: 'failed', message: 'the reproduction did not run with the patch' };

/**
 * Reproduction: whether to run the reproduction on the patched tree once more. Only a reproduction
 * that failed on the baseline and still fails with the patch is re-run (up to `maxReruns` times),
 * so that a flaky pass is told from a fix that does not work.
 */
export function rerunReproduction(runs: readonly ReproductionRun[], onBaseline: ReproductionRun, maxReruns: number): boolean {
  const last = runs[runs.length - 1];
  return runs.length <= maxReruns && last?.status === 'failed' && onBaseline.status === 'failed';
}

/**
 * Reproduction: what became of the regression test built from the captured failure, from its run
 * on the baseline and its runs with the patch (`flaky` when those disagreed).
 */
export function reproductionOutcome(
  generated: GeneratedReproduction | NoReproduction,
  onBaseline: ReproductionRun | undefined,
  patched: readonly ReproductionRun[],
): ReproductionOutcome {
  if (generated.kind === 'none') return { kind: 'none', reason: generated.reason };
  if (!onBaseline) return { kind: 'none', reason: `the generated test ${generated.testFile} did not run under ${generated.framework} on the baseline.` };
  const statuses = new Set(patched.map((o) => o.status));
  return {
    kind: 'built',
    testFile: generated.testFile,
    testName: generated.testName,
    diff: additionDiff(generated.testFile, generated.source),
    baseline: onBaseline.status,
    patched: statuses.has('passed') && statuses.has('failed') ? 'flaky' : (patched[patched.length - 1]?.status ?? 'failed'),
    baselineMessage: onBaseline.message,
    patchedMessage: patched.find((o) => o.status === 'failed')?.message,
  };
}

/** Why no reproduction was attempted when the incident recorded no failure. */
export const NO_CAPTURED_FAILURE: NoReproduction = { kind: 'none', reason: 'no failure was captured for this incident (no ErrorRecorded event).' };

/** One step's output as the verdict carries it (the full output is in the logs table). */
export interface StepExcerpt {
  readonly step: string;
  readonly exitCode: number | null;
  readonly excerpt: string;
  readonly truncated: boolean;
}

const EXCERPT_CHARS = 4000;

/** The last {@link EXCERPT_CHARS} characters of a step's output. */
export function excerptOf(step: string, exitCode: number | null, output: string): StepExcerpt {
  const truncated = output.length > EXCERPT_CHARS;
  return { step, exitCode, excerpt: truncated ? `…${output.slice(-EXCERPT_CHARS)}` : output, truncated };
}

/** What every verdict carries besides the decision: where the logs are, excerpts, the commit, the sandbox, the duration. */
export type ValidationEvidence = Pick<EventData<'PatchValidated'>, 'logsRef' | 'logs' | 'commit' | 'sandbox' | 'durationMs'>;

/** What the sandbox enforced, as a verdict records it. */
export type SandboxRecord = NonNullable<EventData<'PatchValidated'>['sandbox']>;

/** What the sandbox enforced for one run. */
export type Enforcement = Omit<SandboxRecord, 'steps' | 'limits'> & { readonly limits: readonly string[] };

/**
 * The verdict's sandbox record from the runs so far (in order): each step's own enforcement, once
 * per step, and at the top the test runs' (the first `test:` step; before any ran, the last step
 * other than install, else the install), so the top never shows the install's host network and
 * longer time limit for runs that had neither. Undefined before any run.
 */
export function sandboxRecord(runs: ReadonlyArray<{ readonly step: string; readonly enforced: Enforcement }>): SandboxRecord | undefined {
  if (runs.length === 0) return undefined;
  const top = runs.find((r) => r.step.startsWith('test:')) ?? [...runs].reverse().find((r) => r.step !== 'install') ?? runs[0]!;
  const steps: NonNullable<SandboxRecord['steps']> = [];
  for (const run of runs) {
    if (!steps.some((s) => s.step === run.step)) steps.push({ step: run.step, ...copy(run.enforced) });
  }
  return { ...copy(top.enforced), steps };
}

function copy(e: Enforcement): Omit<SandboxRecord, 'steps'> {
  return { network: e.network, writes: e.writes, user: e.user, limits: [...e.limits] };
}

/** The verdict events the validator appends. */
export type VerdictEvent =
  | { readonly type: 'PatchValidated'; readonly data: EventData<'PatchValidated'> }
  | { readonly type: 'PatchRejected'; readonly data: EventData<'PatchRejected'> }
  | { readonly type: 'PatchUnproven'; readonly data: EventData<'PatchUnproven'> };

/** A rejection as its event. */
export function rejectionEvent(patchId: PatchId, rejection: Rejection, evidence: ValidationEvidence, extra: Partial<EventData<'PatchRejected'>> = {}): VerdictEvent {
  return {
    type: 'PatchRejected',
    data: {
      patchId,
      reason: rejection.reason,
      failingTests: [],
      stage: rejection.stage,
      ...evidence,
      ...(rejection.violations ? { violations: [...rejection.violations] } : {}),
      ...extra,
    },
  };
}

/**
 * Tests listed one by one in a verdict event (the full list is in the logs table); the event's
 * `counts` are always of every test.
 */
const MAX_TESTS_IN_EVENT = 1000;

/** Every test's status counted, with the patch. */
function countsOf(tests: readonly TestEvidence[]): NonNullable<EventData<'PatchValidated'>['counts']> {
  const count = (status: TestEvidence['status']) => tests.filter((t) => t.status === status).length;
  return { total: tests.length, passed: count('passed'), failed: count('failed'), skipped: count('skipped'), flaky: count('flaky') };
}

/** The decided verdict (see `decideVerdict`) as its event. */
export function verdictEvent(patchId: PatchId, verdict: Verdict, evidence: ValidationEvidence): VerdictEvent {
  const tests = verdict.tests.slice(0, MAX_TESTS_IN_EVENT).map(eventTest);
  const counts = countsOf(verdict.tests);
  const reproduction = {
    status: verdict.reproduction.status,
    reason: verdict.reproduction.reason,
    ...(verdict.reproduction.testFile ? { testFile: verdict.reproduction.testFile } : {}),
    ...(verdict.reproduction.diff ? { diff: verdict.reproduction.diff } : {}),
    ...(verdict.reproduction.call ? { call: verdict.reproduction.call } : {}),
  };
  if (verdict.kind === 'rejected') {
    return rejectionEvent(patchId, rejectedAt(verdict.stage, verdict.reason), evidence, {
      failingTests: [...verdict.failingTests],
      ...(verdict.violations.length ? { violations: [...verdict.violations] } : {}),
      tests,
      counts,
      reproduction,
      flakyTests: [...verdict.flakyTests],
    });
  }
  if (verdict.kind === 'unproven') return { type: 'PatchUnproven', data: { patchId, reason: verdict.reason, tests, counts, reproduction, flakyTests: [...verdict.flakyTests], ...evidence } };
  return { type: 'PatchValidated', data: { patchId, tests, counts, reproduction, flakyTests: [...verdict.flakyTests], ...evidence } };
}

function eventTest(t: TestEvidence): EventData<'PatchValidated'>['tests'][number] {
  return {
    name: t.name.slice(0, 500) || 'unnamed',
    status: t.status,
    durationMs: Math.max(0, Math.round(t.durationMs)),
    ...(t.baseline ? { baseline: t.baseline } : {}),
    ...(t.message ? { message: t.message } : {}),
  };
}

/** How a run ended, for a rejection's reason. */
export function exitText(run: RunSummary): string {
  if (run.timedOut) return run.violations[0] ?? 'timed out';
  return `exit code ${run.exitCode ?? 'none'}; see \`antibody logs\` for the output`;
}
