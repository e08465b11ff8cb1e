import type { PatchId } from '@antibody/contracts';
import { capturedThrow, judgeCall, planCall, type CapturedCall } from '../domain/call-reproduction';
import { buildReproduction, detectFramework, type CapturedFailure, type GeneratedReproduction, type NoReproduction, type TestFramework } from '../domain/reproduction';
import {
  applyFailed,
  baselineCacheable,
  decideBaselineBuild,
  decideInstall,
  decidePatchedBuild,
  excerptOf,
  NO_CAPTURED_FAILURE,
  prepareFailed,
  REPRODUCTION_DID_NOT_RUN,
  reproductionOutcome,
  reproductionStatusIn,
  rerunPatchedTests,
  rerunReproduction,
  sandboxRecord,
  stillSuspect,
  type Rejection,
  type SandboxRecord,
  type ReproductionRun,
  type ValidationEvidence,
} from '../domain/steps';
import { suspectTests, type CallRuns, type ReproductionOutcome, type RunSummary } from '../domain/verdict';
import { decideBehaviour, modulesToRecord, type BehaviourCheck, type RecordedCall, type Replayed } from '../domain/differential';
import { recordCalls, replayCalls } from './differential';
import { runHarness } from './harness';
import type { ServiceUnderCare } from '../domain/validation';
import { detectIsolation, freshSandboxUid, type SandboxLimits } from './sandbox';
import { runStep, singleFileCommand, type RunContext, type StepRun } from './test-runner';
import { ValidationStore } from './validation-store';
import { WorkspaceError, type Workspace, type Workspaces } from './workspace';

// The I/O steps of one validation, in the order `validatePatch` runs them. Each takes its inputs
// and returns its result (or the rejection its domain decision makes of it); every run and note
// goes to the validation's log.

/** Settings of the validation runs. */
export interface ValidationSettings {
  readonly limits: SandboxLimits;
  /** Time limit of the install step (it may download packages). */
  readonly installTimeLimitMs: number;
  /** Extra runs of the patched tree when a test fails that did not fail on the baseline. */
  readonly flakyReruns: number;
  /** Stops every sandboxed run when it aborts (see `SandboxedRuns`): the validation then throws `SandboxAbortedError`. */
  readonly signal?: AbortSignal;
}

/**
 * The log of one validation: every step's full output and the validator's notes, in order, in the
 * logs table (what `antibody logs` prints), and the evidence the verdict carries.
 */
export class ValidationLog {
  private readonly runs: StepRun[] = [];
  private seq = 0;
  private commit: string | undefined;

  private constructor(
    private readonly store: ValidationStore,
    private readonly patchId: PatchId,
    private readonly now: () => number,
    private readonly started: number,
  ) {}

  /** Starts the log of a new attempt: an earlier, interrupted attempt's logs are forgotten. */
  static async start(store: ValidationStore, patchId: PatchId, now: () => number): Promise<ValidationLog> {
    const started = now();
    await store.clearLogs(patchId);
    return new ValidationLog(store, patchId, now, started);
  }

  async record(run: StepRun): Promise<StepRun> {
    this.runs.push(run);
    await this.store.appendLog(this.patchId, this.seq++, { step: run.step, command: run.command, exitCode: run.summary.exitCode, output: run.output });
    return run;
  }

  async note(step: string, text: string): Promise<void> {
    await this.store.appendLog(this.patchId, this.seq++, { step, command: '(validator)', exitCode: null, output: text });
  }

  /** The commit the worktree was checked out at, once known. */
  checkedOut(commit: string): void {
    this.commit = commit;
  }

  /** The evidence as it stands: excerpts of the runs so far, the commit, the sandbox, the time taken. */
  evidence(): ValidationEvidence {
    return {
      logsRef: `validation_logs/${this.patchId}`,
      logs: this.runs.map((run) => excerptOf(run.step, run.summary.exitCode, run.output)),
      ...(this.commit ? { commit: this.commit } : {}),
      ...withSandbox(sandboxRecord(this.runs)),
      durationMs: Math.max(0, Math.round(this.now() - this.started)),
    };
  }
}

function withSandbox(sandbox: SandboxRecord | undefined): { sandbox?: SandboxRecord } {
  return sandbox ? { sandbox } : {};
}

/** The repository's mirror and the commit to validate at. */
export interface Checkout {
  readonly mirror: string;
  readonly commit: string;
}

/**
 * Prepare: the repository's mirror and the release's commit; a release the repository does not
 * know falls back to the default branch, with a note.
 */
export async function prepare(workspaces: Workspaces, service: ServiceUnderCare, release: string | undefined, log: ValidationLog): Promise<Checkout | Rejection> {
  try {
    const mirror = await workspaces.mirrorOf(service.repository.url);
    const wanted = release ?? service.repository.defaultBranch;
    let commit: string;
    try {
      commit = await workspaces.resolveCommit(mirror, wanted);
      log.checkedOut(commit);
    } catch (error) {
      if (!(error instanceof WorkspaceError) || release === undefined) throw error;
      commit = await workspaces.resolveCommit(mirror, service.repository.defaultBranch);
      log.checkedOut(commit);
      await log.note('prepare', `The incident's release "${release}" is not a commit, tag or branch of the repository; validated against ${service.repository.defaultBranch} (${commit}).`);
    }
    return { mirror, commit };
  } catch (error) {
    if (error instanceof WorkspaceError) return prepareFailed(error.message);
    throw error;
  }
}

/** One validation's worktree and how its commands run there. */
export interface ValidationRun {
  readonly workspaces: Workspaces;
  readonly workspace: Workspace;
  readonly context: RunContext;
  readonly settings: ValidationSettings;
  readonly log: ValidationLog;
  /** Owner of files the validator writes into the worktree (the sandbox user with namespaces). */
  readonly fileOwner?: number;
  /** Hands the worktree to the sandbox user again (after the validator changed it). */
  handOver(): Promise<void>;
}

/** Sets up the sandbox of a worktree: its user, limits, and the worktree handed over to it. */
export async function enterSandbox(workspaces: Workspaces, workspace: Workspace, settings: ValidationSettings, log: ValidationLog): Promise<ValidationRun> {
  const namespaces = detectIsolation().mode === 'namespaces';
  const uid = namespaces ? freshSandboxUid() : (process.getuid?.() ?? 0);
  const run: ValidationRun = {
    workspaces,
    workspace,
    context: { workspace, limits: settings.limits, uid, ...(settings.signal ? { signal: settings.signal } : {}) },
    settings,
    log,
    ...(namespaces ? { fileOwner: uid } : {}),
    handOver: async () => {
      if (namespaces) await workspaces.giveTo(workspace, uid);
    },
  };
  await run.handOver();
  return run;
}

/** Install: dependencies from the cache (by lockfile hash), else the install command, cached after. */
export async function install(run: ValidationRun, command: string | undefined): Promise<{ readonly dependencyKey?: string } | Rejection> {
  if (!command) return {};
  const { workspaces, workspace, log } = run;
  const dependencyKey = await workspaces.dependencyKey(workspace, command);
  const reused = dependencyKey !== undefined && (await workspaces.linkDependencies(workspace, dependencyKey));
  if (reused) {
    await log.note('install', `Dependencies reused from the cache (key ${dependencyKey}).`);
    return { dependencyKey };
  }
  const installed = await log.record(await runStep(run.context, 'install', command, { network: 'host', timeLimitMs: run.settings.installTimeLimitMs }));
  const rejection = decideInstall(installed.summary);
  if (rejection) return rejection;
  if (dependencyKey !== undefined) await workspaces.cacheDependencies(workspace, dependencyKey);
  return dependencyKey !== undefined ? { dependencyKey } : {};
}

/** Apply (check only): the patch must apply cleanly at the release; git failing for its own reason is the validator's failure (it throws, and is retried). */
export async function checkApplies(run: ValidationRun, diff: string): Promise<Rejection | undefined> {
  try {
    await run.workspaces.checkPatch(run.workspace, diff);
    return undefined;
  } catch (error) {
    if (error instanceof WorkspaceError && error.code === 'PATCH_DOES_NOT_APPLY') return applyFailed(error.message);
    throw error;
  }
}

/** The unpatched tree's test results and what the repository is. */
export interface Baseline {
  readonly summary: RunSummary;
  readonly packageJson: unknown;
  readonly framework: TestFramework | undefined;
  /** The build command ran in this worktree (not when the results came from the cache). */
  readonly built: boolean;
}

/** Baseline: the unpatched build and test run, cached per repository, commit, commands and dependencies. */
export async function baseline(
  run: ValidationRun,
  inputs: { readonly service: ServiceUnderCare; readonly commit: string; readonly dependencyKey?: string; readonly store: ValidationStore },
): Promise<Baseline | Rejection> {
  const { workspaces, workspace, log } = run;
  const packageJson = await workspaces.readJson(workspace, 'package.json');
  const framework = detectFramework(packageJson);
  const { build, test } = inputs.service.commands;
  const key = ValidationStore.baselineKey({ repository: inputs.service.repository.url, commit: inputs.commit, build, test, dependencies: inputs.dependencyKey });
  const cached = await inputs.store.baseline(key);
  if (cached) {
    await log.note('test:baseline', `Baseline results reused from the cache (commit ${inputs.commit}, command "${test}").`);
    return { summary: cached, packageJson, framework, built: false };
  }
  if (build) {
    const rejection = decideBaselineBuild((await log.record(await runStep(run.context, 'build:baseline', build))).summary);
    if (rejection) return rejection;
  }
  const summary = (await log.record(await runStep(run.context, 'test:baseline', test, { framework }))).summary;
  if (baselineCacheable(summary)) await inputs.store.saveBaseline(key, inputs.commit, test, summary);
  return { summary, packageJson, framework, built: build !== undefined };
}

/**
 * Reproduction (baseline), independent of the test framework: the captured failing call planned
 * from the report and made by the harness on the unpatched tree (built first when the baseline's
 * results came from the cache, so the build output the call loads is there).
 */
export async function reproduceCallOnBaseline(
  run: ValidationRun,
  inputs: { readonly failure?: CapturedFailure & { readonly call?: CapturedCall }; readonly baseline: Baseline; readonly build?: string },
): Promise<CallRuns | Rejection> {
  const { failure } = inputs;
  if (!failure) return { plan: { kind: 'none', reason: 'no failure was captured for this incident (no ErrorRecorded event).' } };
  const plan = planCall(failure, { packageJson: inputs.baseline.packageJson, files: await run.workspaces.trackedFiles(run.workspace) });
  if (plan.kind === 'none') {
    await run.log.note('reproduce:baseline', `No call to make again: ${plan.reason}`);
    return { plan };
  }
  if (inputs.build && !inputs.baseline.built) {
    const rejection = decideBaselineBuild((await run.log.record(await runStep(run.context, 'build:baseline', inputs.build))).summary);
    if (rejection) return rejection;
  }
  const { run: ran, outcome } = await runHarness(run.context, run.workspaces, 'reproduce:baseline', plan, run.fileOwner);
  await run.log.record(ran);
  return { plan, captured: capturedThrow(failure), baseline: outcome };
}

/** Reproduction (patched): the same call with the patch, made only when it reproduced the failure on the baseline. */
export async function reproduceCallOnPatched(run: ValidationRun, call: CallRuns): Promise<CallRuns> {
  if (call.plan.kind === 'none' || !call.baseline || !call.captured) return call;
  if (judgeCall(call.captured, call.baseline, undefined, []).kind === 'unproven') return call;
  const { run: ran, outcome } = await runHarness(run.context, run.workspaces, 'reproduce:patched', call.plan, run.fileOwner);
  await run.log.record(ran);
  return { ...call, patched: outcome };
}

/** The regression test built from the captured failure, and how it ended on the baseline. */
export interface BaselineReproduction {
  readonly generated: GeneratedReproduction | NoReproduction;
  readonly onBaseline?: ReproductionRun;
}

/** Reproduction (baseline): builds the regression test from the captured failure and runs it on the unpatched tree. */
export async function reproduceOnBaseline(run: ValidationRun, inputs: { readonly failure?: CapturedFailure; readonly packageJson: unknown; readonly patchId: PatchId }): Promise<BaselineReproduction> {
  const { workspaces, workspace, log } = run;
  const generated = inputs.failure ? buildReproduction(inputs.failure, { packageJson: inputs.packageJson, files: await workspaces.trackedFiles(workspace) }, inputs.patchId.slice(0, 8)) : NO_CAPTURED_FAILURE;
  if (generated.kind !== 'built') return { generated };
  await workspaces.writeFile(workspace, generated.testFile, generated.source, run.fileOwner);
  const ran = await log.record(await runStep(run.context, 'reproduction:baseline', singleFileCommand(generated.framework, generated.testFile), { framework: generated.framework }));
  const onBaseline = reproductionStatusIn(ran.summary, generated.testName);
  // A regression test that reproduced stays: the patched suite runs it, as it will once committed
  // with the fix. One that did not is no regression test; left in, a suite whose glob picks it up
  // would run it with the patch only, and blame anything it does wrong on the patch.
  if (onBaseline?.status !== 'failed') await workspaces.removeFile(workspace, generated.testFile);
  return onBaseline ? { generated, onBaseline } : { generated };
}

/** Apply: the checked patch applied to the worktree (a failure now is the validator's, not the patch's: it throws). */
export async function applyPatch(run: ValidationRun, diff: string): Promise<void> {
  await run.workspaces.applyPatch(run.workspace, diff).catch((error: unknown) => {
    throw error instanceof WorkspaceError ? new WorkspaceError('GIT_FAILED', `applying a checked patch failed: ${error.message}`, { cause: error }) : error;
  });
  await run.handOver();
}

/** Build: the patched tree's build command. */
export async function buildPatched(run: ValidationRun, command: string | undefined): Promise<Rejection | undefined> {
  if (!command) return undefined;
  return decidePatchedBuild((await run.log.record(await runStep(run.context, 'build:patched', command))).summary);
}

/** The patched tree's test runs: the first, and the re-runs made to tell flaky tests from broken ones. */
export interface PatchedTests {
  readonly patched: RunSummary;
  readonly reruns: readonly RunSummary[];
}

/** Tests: the test command on the patched tree, re-run while tests that passed on the baseline keep failing. */
export async function testPatched(run: ValidationRun, inputs: { readonly command: string; readonly framework: TestFramework | undefined; readonly baseline: RunSummary }): Promise<PatchedTests> {
  const { command, framework } = inputs;
  const patched = (await run.log.record(await runStep(run.context, 'test:patched', command, { framework }))).summary;
  const reruns: RunSummary[] = [];
  let suspects: ReadonlySet<string> = new Set(suspectTests(inputs.baseline.results, patched.results));
  while (rerunPatchedTests(reruns.length, run.settings.flakyReruns, suspects, patched)) {
    const rerun = (await run.log.record(await runStep(run.context, `test:patched:rerun-${reruns.length + 1}`, command, { framework }))).summary;
    reruns.push(rerun);
    suspects = stillSuspect(suspects, rerun);
  }
  return { patched, reruns };
}

/** Reproduction (patched): the regression test on the patched tree, re-run while it keeps failing. */
export async function reproduceOnPatched(run: ValidationRun, reproduction: BaselineReproduction): Promise<ReproductionOutcome> {
  const { generated, onBaseline } = reproduction;
  // A test that did not fail on the baseline reproduces nothing (and was removed): not run again.
  if (generated.kind !== 'built' || onBaseline?.status !== 'failed') return reproductionOutcome(generated, onBaseline, []);
  const command = singleFileCommand(generated.framework, generated.testFile);
  const runs: ReproductionRun[] = [];
  do {
    const step = runs.length === 0 ? 'reproduction:patched' : `reproduction:patched:rerun-${runs.length}`;
    const ran = await run.log.record(await runStep(run.context, step, command, { framework: generated.framework }));
    runs.push(reproductionStatusIn(ran.summary, generated.testName) ?? REPRODUCTION_DID_NOT_RUN);
  } while (rerunReproduction(runs, onBaseline, run.settings.flakyReruns));
  return reproductionOutcome(generated, onBaseline, runs);
}

/** The calls the baseline's tests made to the changed modules, and their replays on the baseline. */
export interface RecordedBehaviour {
  readonly calls: readonly RecordedCall[];
  readonly baseline: readonly Replayed[];
  readonly again: readonly Replayed[];
  /** Why nothing was recorded, when nothing was. */
  readonly note?: string;
}

/**
 * Differential check (baseline): the test command once more with the recorder watching the
 * modules the patch changes, then the recorded calls replayed twice on the unpatched tree (a call
 * whose two results differ is not deterministic and is not compared).
 */
export async function recordBehaviour(run: ValidationRun, inputs: { readonly diff: string; readonly packageJson: unknown; readonly test: string }): Promise<RecordedBehaviour> {
  const modules = modulesToRecord(inputs.diff, (inputs.packageJson as { type?: unknown } | undefined)?.type);
  if (modules.length === 0) {
    const note = 'the patch changes no JavaScript module loaded with require, so no calls were recorded';
    await run.log.note('record:baseline', `Differential check not run: ${note}.`);
    return { calls: [], baseline: [], again: [], note };
  }
  const recorded = await recordCalls(run, 'record:baseline', inputs.test, modules);
  await run.log.record(recorded.run);
  if (recorded.calls.length === 0) return { calls: [], baseline: [], again: [] };
  const first = await replayCalls(run, 'replay:baseline', recorded.calls);
  await run.log.record(first.run);
  const second = await replayCalls(run, 'replay:baseline:again', recorded.calls);
  await run.log.record(second.run);
  return { calls: recorded.calls, baseline: first.results, again: second.results };
}

/** Differential check (patched): the recorded calls replayed with the patch, and what that says. */
export async function checkBehaviour(run: ValidationRun, recorded: RecordedBehaviour): Promise<BehaviourCheck> {
  if (recorded.calls.length === 0) return { kind: 'not-checked', reason: recorded.note ?? 'the tests made no recordable call to the changed modules' };
  const patched = await replayCalls(run, 'replay:patched', recorded.calls);
  await run.log.record(patched.run);
  return decideBehaviour(recorded.calls, recorded.baseline, recorded.again, patched.results);
}
