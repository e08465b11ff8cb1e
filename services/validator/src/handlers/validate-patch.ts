import type { EventData } from '@antibody/contracts';
import { checkPaths, filesOfDiff } from '../domain/paths';
import { additionDiff, buildReproduction, detectFramework, type CapturedFailure, type GeneratedReproduction } from '../domain/reproduction';
import type { TestStatus } from '../domain/test-results';
import { decideVerdict, mergeRuns, suspectTests, type ReproductionOutcome, type RunSummary, type TestEvidence, type Verdict } from '../domain/verdict';
import { risksOfDiff } from '../domain/violations';
import { detectIsolation, freshSandboxUid, type EnforcedSandbox, type SandboxLimits } from '../infrastructure/sandbox';
import { runStep, singleFileCommand, type RunContext, type StepRun } from '../infrastructure/test-runner';
import { ValidationStore } from '../infrastructure/validation-store';
import { WorkspaceError, type Workspaces } from '../infrastructure/workspace';

/** What the validator knows about the service under care (from its `service-<name>` stream). */
export interface ServiceUnderCare {
  readonly name: string;
  readonly repository: { readonly url: string; readonly defaultBranch: string };
  readonly commands: { readonly install?: string; readonly build?: string; readonly test: string };
  readonly policy: { readonly allowedPaths: readonly string[]; readonly forbiddenPaths: readonly string[]; readonly requireReproduction?: boolean };
}

/** One patch to validate, with everything read from the event store. */
export interface ValidationRequest {
  readonly patchId: string;
  readonly diff: string;
  readonly service: ServiceUnderCare;
  /** The incident's release (a commit, tag or branch); the default branch when absent or unknown. */
  readonly release?: string;
  /** The latest captured failure of the incident, when one was recorded. */
  readonly failure?: CapturedFailure;
}

/** Settings of the validation runs. */
export interface ValidationSettings {
  readonly limits: SandboxLimits;
  /** Time limit of the install step (it may download packages). */
  readonly installTimeLimitMs: number;
  /** Extra runs of the patched tree when a test fails that did not fail on the baseline. */
  readonly flakyReruns: number;
}

/** What {@link validatePatch} uses. */
export interface ValidationDeps {
  readonly workspaces: Workspaces;
  readonly store: ValidationStore;
  readonly settings: ValidationSettings;
  /** Milliseconds since some origin; passed in so that timing stays out of the decision. */
  readonly now: () => number;
}

/** The verdict event to append. */
export type VerdictEvent = { readonly type: 'PatchValidated'; readonly data: EventData<'PatchValidated'> } | { readonly type: 'PatchRejected'; readonly data: EventData<'PatchRejected'> };

const EXCERPT_CHARS = 4000;
const MAX_TESTS_IN_EVENT = 1000;

type RejectStage = NonNullable<EventData<'PatchRejected'>['stage']>;

/**
 * Validates one patch end to end: path policy, worktree at the release commit, dependencies
 * (cached by lockfile hash), `git apply --check`, the baseline run (cached per commit and
 * commands), the reproduction on the baseline, the patch applied, build and tests on the patched
 * tree, re-runs of suspect tests (flaky detection), the reproduction with the patch, and the
 * decision. Every step's full output goes to the logs table; the verdict carries excerpts.
 *
 * Expected outcomes (the patch does not apply, a forbidden path, a failing build, a contained
 * patch) become a `PatchRejected` event; only infrastructure failures (database, filesystem,
 * a sandbox that cannot start) throw, so the caller retries.
 */
export async function validatePatch(request: ValidationRequest, deps: ValidationDeps): Promise<VerdictEvent> {
  const { store, workspaces, settings } = deps;
  const started = deps.now();
  const steps: StepRun[] = [];
  let seq = 0;
  let enforced: EnforcedSandbox | undefined;
  let commit: string | undefined;
  const notes: string[] = [];
  await store.clearLogs(request.patchId);
  const record = async (run: StepRun): Promise<StepRun> => {
    steps.push(run);
    enforced ??= run.enforced;
    await store.appendLog(request.patchId, seq++, { step: run.step, command: run.command, exitCode: run.summary.exitCode, output: run.output });
    return run;
  };
  const note = async (step: string, text: string): Promise<void> => {
    notes.push(text);
    await store.appendLog(request.patchId, seq++, { step, command: '(validator)', exitCode: null, output: text });
  };
  const common = () => ({
    logsRef: `validation_logs/${request.patchId}`,
    logs: steps.map(excerpt),
    ...(commit ? { commit } : {}),
    ...(enforced ? { sandbox: { ...enforced, limits: [...enforced.limits] } } : {}),
    durationMs: Math.max(0, Math.round(deps.now() - started)),
  });
  const rejected = (stage: RejectStage, reason: string, extra: Partial<EventData<'PatchRejected'>> = {}): VerdictEvent => ({
    type: 'PatchRejected',
    data: { patchId: request.patchId as EventData<'PatchRejected'>['patchId'], reason, failingTests: [], stage, ...common(), ...extra },
  });

  const files = filesOfDiff(request.diff);
  if (files.paths.length === 0) return rejected('apply', 'The diff names no file to change.');
  const pathViolations = checkPaths(files.paths, request.service.policy);
  if (pathViolations.length > 0) {
    const list = pathViolations.map((v) => `${v.path} ${v.reason}`);
    return rejected('policy', `The patch touches paths the service's policy forbids: ${list.join('; ')}.`, { violations: list });
  }

  let mirror: string;
  try {
    mirror = await workspaces.mirrorOf(request.service.repository.url);
    const wanted = request.release ?? request.service.repository.defaultBranch;
    try {
      commit = await workspaces.resolveCommit(mirror, wanted);
    } catch (error) {
      if (!(error instanceof WorkspaceError) || request.release === undefined) throw error;
      commit = await workspaces.resolveCommit(mirror, request.service.repository.defaultBranch);
      await note('prepare', `The incident's release "${request.release}" is not a commit, tag or branch of the repository; validated against ${request.service.repository.defaultBranch} (${commit}).`);
    }
  } catch (error) {
    if (error instanceof WorkspaceError) return rejected('prepare', `${error.message}.`);
    throw error;
  }

  const workspace = await workspaces.create(mirror, commit, request.patchId.slice(0, 8));
  try {
    const uid = detectIsolation().mode === 'namespaces' ? freshSandboxUid() : (process.getuid?.() ?? 0);
    const context: RunContext = { workspace, limits: settings.limits, uid };
    const namespaces = detectIsolation().mode === 'namespaces';
    const handOver = async (): Promise<void> => {
      if (namespaces) await workspaces.giveTo(workspace, uid);
    };
    await handOver();

    const install = request.service.commands.install;
    let dependencyKey: string | undefined;
    if (install) {
      dependencyKey = await workspaces.dependencyKey(workspace, install);
      const reused = dependencyKey !== undefined && (await workspaces.linkDependencies(workspace, dependencyKey));
      if (!reused) {
        const run = await record(await runStep(context, 'install', install, { network: 'host', timeLimitMs: settings.installTimeLimitMs }));
        if (run.summary.exitCode !== 0) return rejected('install', `The install command failed on the unpatched release (${exitText(run)}); the patch cannot be validated.`);
        if (dependencyKey !== undefined) await workspaces.cacheDependencies(workspace, dependencyKey);
      } else {
        await note('install', `Dependencies reused from the cache (key ${dependencyKey}).`);
      }
    }

    try {
      await workspaces.checkPatch(workspace, request.diff);
    } catch (error) {
      if (error instanceof WorkspaceError) return rejected('apply', `${error.message}.`);
      throw error;
    }

    const packageJson = await workspaces.readJson(workspace, 'package.json');
    const framework = detectFramework(packageJson);
    const { build, test } = request.service.commands;
    const baselineKey = ValidationStore.baselineKey({ repository: request.service.repository.url, commit, build, test, dependencies: dependencyKey });
    let baseline = await store.baseline(baselineKey);
    if (baseline) {
      await note('test:baseline', `Baseline results reused from the cache (commit ${commit}, command "${test}").`);
    } else {
      if (build) {
        const run = await record(await runStep(context, 'build:baseline', build));
        if (run.summary.exitCode !== 0) return rejected('baseline', `The build command fails on the unpatched release (${exitText(run)}); the patch cannot be validated.`);
      }
      baseline = (await record(await runStep(context, 'test:baseline', test, { framework }))).summary;
      if (!baseline.timedOut) await store.saveBaseline(baselineKey, commit, test, baseline);
    }

    const generated = request.failure
      ? buildReproduction(request.failure, { packageJson, files: await workspaces.trackedFiles(workspace) }, request.patchId.slice(0, 8))
      : ({ kind: 'none', reason: 'no failure was captured for this incident (no ErrorRecorded event).' } as const);
    let reproductionOnBaseline: { status: TestStatus; message?: string } | undefined;
    if (generated.kind === 'built') {
      await workspaces.writeFile(workspace, generated.testFile, generated.source, namespaces ? uid : undefined);
      const run = await record(await runStep(context, 'reproduction:baseline', singleFileCommand(generated.framework, generated.testFile), { framework: generated.framework }));
      reproductionOnBaseline = findTest(run.summary, generated);
    }

    await workspaces.applyPatch(workspace, request.diff).catch((error: unknown) => {
      throw error instanceof WorkspaceError ? new WorkspaceError('GIT_FAILED', `applying a checked patch failed: ${error.message}`, { cause: error }) : error;
    });
    await handOver();
    if (build) {
      const run = await record(await runStep(context, 'build:patched', build));
      if (run.summary.exitCode !== 0) {
        return rejected('build', `The build fails with the patch (${exitText(run)}).`, { violations: run.summary.violations.length ? [...run.summary.violations] : undefined });
      }
    }
    const patched = (await record(await runStep(context, 'test:patched', test, { framework }))).summary;
    const reruns: RunSummary[] = [];
    const suspects = new Set(suspectTests(baseline.results, patched.results));
    for (let i = 0; i < settings.flakyReruns && suspects.size > 0 && !patched.timedOut; i++) {
      const run = (await record(await runStep(context, `test:patched:rerun-${i + 1}`, test, { framework }))).summary;
      reruns.push(run);
      for (const t of run.results.tests) if (t.status === 'passed') suspects.delete(t.name);
    }

    let reproduction: ReproductionOutcome;
    if (generated.kind === 'none') reproduction = { kind: 'none', reason: generated.reason };
    else if (!reproductionOnBaseline) reproduction = { kind: 'none', reason: `the generated test ${generated.testFile} did not run under ${generated.framework} on the baseline.` };
    else {
      const command = singleFileCommand(generated.framework, generated.testFile);
      const outcomes: Array<{ status: TestStatus; message?: string }> = [];
      for (let i = 0; i <= settings.flakyReruns; i++) {
        const run = await record(await runStep(context, i === 0 ? 'reproduction:patched' : `reproduction:patched:rerun-${i}`, command, { framework: generated.framework }));
        const outcome = findTest(run.summary, generated) ?? { status: 'failed' as const, message: 'the reproduction did not run with the patch' };
        outcomes.push(outcome);
        if (outcome.status !== 'failed' || reproductionOnBaseline.status !== 'failed') break;
      }
      const statuses = new Set(outcomes.map((o) => o.status));
      reproduction = {
        kind: 'built',
        testFile: generated.testFile,
        testName: generated.testName,
        diff: additionDiff(generated.testFile, generated.source),
        baseline: reproductionOnBaseline.status,
        patched: statuses.has('passed') && statuses.has('failed') ? 'flaky' : (outcomes[outcomes.length - 1]?.status ?? 'failed'),
        baselineMessage: reproductionOnBaseline.message,
        patchedMessage: outcomes.find((o) => o.status === 'failed')?.message,
      };
    }

    const verdict = decideVerdict({
      baseline,
      patched,
      reruns,
      reproduction,
      requireReproduction: request.service.policy.requireReproduction === true,
      risks: risksOfDiff(request.diff).map((r) => `${r.risk} (${r.file}: ${r.line})`),
    });
    return toEvent(request.patchId, verdict, rejected, common);
  } finally {
    await workspaces.remove(workspace);
  }
}

function toEvent(
  patchId: string,
  verdict: Verdict,
  rejected: (stage: RejectStage, reason: string, extra?: Partial<EventData<'PatchRejected'>>) => VerdictEvent,
  common: () => Partial<EventData<'PatchValidated'>>,
): VerdictEvent {
  const tests = verdict.tests.slice(0, MAX_TESTS_IN_EVENT).map(eventTest);
  const reproduction = {
    status: verdict.reproduction.status,
    reason: verdict.reproduction.reason,
    ...(verdict.reproduction.testFile ? { testFile: verdict.reproduction.testFile } : {}),
    ...(verdict.reproduction.diff ? { diff: verdict.reproduction.diff } : {}),
  };
  if (verdict.kind === 'rejected') {
    return rejected(verdict.stage, verdict.reason, {
      failingTests: [...verdict.failingTests],
      ...(verdict.violations.length ? { violations: [...verdict.violations] } : {}),
      tests,
      reproduction,
      flakyTests: [...verdict.flakyTests],
    });
  }
  return {
    type: 'PatchValidated',
    data: { patchId: patchId as EventData<'PatchValidated'>['patchId'], tests, reproduction, flakyTests: [...verdict.flakyTests], ...common() },
  };
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

function findTest(summary: RunSummary, generated: GeneratedReproduction): { status: TestStatus; message?: string } | undefined {
  const merged = mergeRuns([summary.results]);
  for (const t of merged.values()) {
    if (t.name === generated.testName || t.name.endsWith(` > ${generated.testName}`)) {
      return { status: t.status === 'flaky' ? 'failed' : t.status, message: t.message };
    }
  }
  return undefined;
}

function excerpt(run: StepRun): { step: string; exitCode: number | null; excerpt: string; truncated: boolean } {
  const output = run.output;
  const truncated = output.length > EXCERPT_CHARS;
  return { step: run.step, exitCode: run.summary.exitCode, excerpt: truncated ? `…${output.slice(-EXCERPT_CHARS)}` : output, truncated };
}

function exitText(run: StepRun): string {
  if (run.summary.timedOut) return run.summary.violations[0] ?? 'timed out';
  return `exit code ${run.summary.exitCode ?? 'none'}; see \`antibody logs\` for the output`;
}
