import { describeFrame, judgeCall, type CallOutcome, type CallProof, type CapturedThrow, type HarnessPlan, type NoCall } from './call-reproduction';
import type { BehaviourCheck } from './differential';
import type { ParsedResults, TestResult, TestStatus } from './test-results';

/** How one sandboxed run of a command ended. */
export interface RunSummary {
  readonly results: ParsedResults;
  readonly exitCode: number | null;
  /** The time limit was reached and the process group killed. */
  readonly timedOut: boolean;
  /** Sandbox limits hit or blocked actions seen in the run's output (see `violationsInOutput`). */
  readonly violations: readonly string[];
}

/** What became of the regression test built from the captured failure. */
export type ReproductionOutcome =
  | { readonly kind: 'none'; readonly reason: string }
  | {
      readonly kind: 'built';
      readonly testFile: string;
      readonly testName: string;
      readonly diff: string;
      /** Status on the unpatched baseline: it must fail there to reproduce the failure. */
      readonly baseline: TestStatus;
      /** Status with the patch, after re-runs (`flaky` when they disagreed). */
      readonly patched: TestStatus | 'flaky';
      readonly baselineMessage?: string;
      readonly patchedMessage?: string;
    };

/** Everything the verdict depends on; produced by the runs, decided here without I/O. */
export interface VerdictInput {
  readonly baseline: RunSummary;
  /** The first run of the test command on the patched tree. */
  readonly patched: RunSummary;
  /** Further runs of the patched tree, made when some test failed (flaky detection). */
  readonly reruns: readonly RunSummary[];
  readonly reproduction: ReproductionOutcome;
  /** The captured failing call made again by the harness, on the baseline and (when it reproduced there) with the patch. */
  readonly call: CallRuns;
  /** The differential check: recorded calls that worked on the baseline, replayed with the patch. */
  readonly behaviour?: BehaviourCheck;
  /** The policy's `allowedErrors`: typed errors a patch may turn the crash into. */
  readonly allowedErrors: readonly string[];
  /** Risky capabilities the patch adds (see `risksOfDiff`), each as one readable line. */
  readonly risks: readonly string[];
}

/** The harness's runs of the captured call (see domain/call-reproduction.ts). */
export interface CallRuns {
  readonly plan: HarnessPlan | NoCall;
  readonly captured?: CapturedThrow;
  readonly baseline?: CallOutcome;
  readonly patched?: CallOutcome;
}

/** A test in the evidence: its status with the patch (or `flaky`) and on the baseline. */
export interface TestEvidence {
  readonly name: string;
  readonly status: TestStatus | 'flaky';
  readonly durationMs: number;
  readonly baseline?: TestStatus | 'flaky';
  readonly message?: string;
}

/** The reproduction as it appears in the verdict. */
export interface ReproductionEvidence {
  readonly status: 'reproduced' | 'not-reproduced' | 'skipped';
  readonly testFile?: string;
  readonly reason: string;
  readonly diff?: string;
  readonly call?: CallEvidence;
}

/** The harness's runs as the verdict records them. */
export interface CallEvidence {
  readonly module: string;
  readonly export: string;
  readonly input: 'call' | 'request' | 'locals';
  readonly baseline: OutcomeEvidence;
  readonly patched?: OutcomeEvidence;
}

/** One run of the call, as recorded. */
export interface OutcomeEvidence {
  readonly outcome: CallOutcome['outcome'];
  readonly type?: string;
  readonly message?: string;
  readonly frame?: string;
  readonly reason?: string;
}

/** The decision: validated (proven to heal), unproven (nothing could prove it), or rejected at a stage with a reason a person can read. */
export type Verdict =
  | {
      readonly kind: 'validated';
      readonly tests: readonly TestEvidence[];
      readonly flakyTests: readonly string[];
      readonly reproduction: ReproductionEvidence;
    }
  | {
      readonly kind: 'unproven';
      readonly reason: string;
      readonly tests: readonly TestEvidence[];
      readonly flakyTests: readonly string[];
      readonly reproduction: ReproductionEvidence;
    }
  | {
      readonly kind: 'rejected';
      readonly stage: 'baseline' | 'policy' | 'tests' | 'behaviour' | 'reproduction';
      readonly reason: string;
      readonly failingTests: readonly string[];
      readonly violations: readonly string[];
      readonly tests: readonly TestEvidence[];
      readonly flakyTests: readonly string[];
      readonly reproduction: ReproductionEvidence;
    };

/**
 * Merges the patched runs test by test: a test that failed in one run and passed in another is
 * `flaky`; otherwise its status is the one all runs agree on (a test missing from a run counts
 * for nothing there). Duration is the first run's.
 */
export function mergeRuns(runs: readonly ParsedResults[]): Map<string, TestEvidence> {
  const merged = new Map<string, { first: TestResult; statuses: Set<TestStatus>; message?: string }>();
  for (const run of runs) {
    for (const test of run.tests) {
      const entry = merged.get(test.name);
      if (!entry) merged.set(test.name, { first: test, statuses: new Set([test.status]), message: test.message });
      else {
        entry.statuses.add(test.status);
        entry.message ??= test.message;
      }
    }
  }
  const out = new Map<string, TestEvidence>();
  for (const [name, { first, statuses, message }] of merged) {
    const status: TestEvidence['status'] = statuses.has('failed') && statuses.has('passed') ? 'flaky' : statuses.has('failed') ? 'failed' : statuses.has('passed') ? 'passed' : 'skipped';
    out.set(name, { name, status, durationMs: first.durationMs, message: status === 'failed' || status === 'flaky' ? message : undefined });
  }
  return out;
}

/** The tests worth re-running: those that failed with the patch but did not fail on the baseline. */
export function suspectTests(baseline: ParsedResults, patched: ParsedResults): string[] {
  const before = new Map(baseline.tests.map((t) => [t.name, t.status]));
  return patched.tests.filter((t) => t.status === 'failed' && before.get(t.name) !== 'failed').map((t) => t.name);
}

/**
 * Decides a validation, in this order:
 *
 * 1. the baseline timed out or no test passed on it: nothing to compare with, rejected at
 *    `baseline`;
 * 2. the patched run timed out, or hit a sandbox limit / blocked action not seen on the baseline:
 *    rejected at `tests`, naming the violation;
 * 3. the patch adds a risky capability (environment, processes, network): rejected at `policy`;
 * 4. a test that passed on the baseline fails with the patch in every run (mixed outcomes are
 *    flaky and not blamed on the patch), or disappeared while the run failed: rejected at `tests`
 *    naming those tests;
 * 5. a call the tests made to a changed module, which returned on the baseline (deterministically),
 *    returns something else with the patch (the differential check): rejected at `behaviour`;
 * 6. the captured call, made again by the harness, threw the captured exception at the captured
 *    frame on the baseline and, with the patch, still throws it, throws it one frame further, or
 *    throws another error the policy does not allow: rejected at `reproduction`;
 * 7. the generated regression test failed on the baseline and still fails (or passes only
 *    sometimes) with the patch: rejected at `reproduction`;
 * 8. either reproduction failed on the baseline and passes with the patch: validated;
 * 9. otherwise nothing proves the patch heals the failure: unproven, never validated.
 */
export function decideVerdict(input: VerdictInput): Verdict {
  const baselineTests = mergeRuns([input.baseline.results]);
  const patchedTests = mergeRuns([input.patched.results, ...input.reruns.map((r) => r.results)]);
  const tests = evidence(baselineTests, patchedTests);
  const flakyTests = tests.filter((t) => t.status === 'flaky' || t.baseline === 'flaky').map((t) => t.name);
  const proof = callProof(input.call, input.allowedErrors);
  const generated = reproductionEvidence(input.reproduction);
  const reproduction = withCall(proof && proof.kind !== 'unproven' ? { ...generated, status: 'reproduced', reason: sentence(proof.reason) } : generated, input.call);
  const reject = (stage: 'baseline' | 'policy' | 'tests' | 'behaviour' | 'reproduction', reason: string, failingTests: readonly string[], violations: readonly string[] = []): Verdict => ({
    kind: 'rejected',
    stage,
    reason,
    failingTests,
    violations,
    tests,
    flakyTests,
    reproduction,
  });

  if (input.baseline.timedOut) {
    // A run stopped by the time limit, killed, out of memory or cut short before its plan: it proves nothing either way.
    const why = input.baseline.violations[0] ?? 'it timed out';
    return reject('baseline', `The test command did not finish on the unpatched baseline (${why}), so there is nothing to compare the patch with.`, [], [...input.baseline.violations]);
  }
  if (![...baselineTests.values()].some((t) => t.status === 'passed')) {
    return reject('baseline', 'No test passes on the unpatched baseline, so there is nothing to compare the patch with; see the baseline log.', []);
  }

  const baselineViolations = new Set(input.baseline.violations);
  const newViolations = unique([input.patched, ...input.reruns].flatMap((r) => r.violations)).filter((v) => !baselineViolations.has(v));
  const timedOut = [input.patched, ...input.reruns].some((r) => r.timedOut);
  if (timedOut || newViolations.length > 0) {
    const failing = tests.filter((t) => t.status === 'failed' && t.baseline !== 'failed').map((t) => t.name);
    const first = newViolations[0] ?? 'the patched test run was stopped by the sandbox';
    const reason = `The patch was contained by the sandbox: ${first}${newViolations.length > 1 ? ` (and ${newViolations.length - 1} more)` : ''}.`;
    return reject('tests', reason, failing, newViolations.length > 0 ? newViolations : [first]);
  }

  if (input.risks.length > 0) {
    return reject(
      'policy',
      `The patch adds code that ${input.risks[0]}${input.risks.length > 1 ? ` (and ${input.risks.length - 1} more)` : ''}; a fix is not expected to need it. The sandbox ran it without Antibody's environment, network or write access.`,
      [],
      input.risks,
    );
  }

  const regressions = tests.filter((t) => t.baseline === 'passed' && t.status === 'failed').map((t) => t.name);
  const vanished = input.patched.exitCode !== 0 ? [...baselineTests.values()].filter((t) => t.status === 'passed' && !patchedTests.has(t.name)).map((t) => t.name) : [];
  const broken = [...regressions, ...vanished];
  if (broken.length > 0) {
    const names = broken.map((n) => `"${n}"`).join(', ');
    const count = broken.length === 1 ? '1 test that passed on the baseline fails' : `${broken.length} tests that passed on the baseline fail`;
    const reruns = input.reruns.length > 0 ? ` in all ${input.reruns.length + 1} runs` : '';
    return reject('tests', `${count} with the patch${reruns}: ${names}.`, broken);
  }

  if (input.behaviour?.kind === 'changed') return reject('behaviour', sentence(input.behaviour.reason), []);
  if (proof?.kind === 'not-healed') return reject('reproduction', `The patch does not heal the captured failure: ${proof.reason}`, []);
  const r = input.reproduction;
  if (r.kind === 'built' && r.baseline === 'failed' && r.patched === 'failed') {
    const detail = r.patchedMessage ? ` (${firstLine(r.patchedMessage)})` : '';
    return reject('reproduction', `The patch does not fix the reproduction: "${r.testName}" still fails with the patch${detail}.`, [r.testName]);
  }
  if (r.kind === 'built' && r.baseline === 'failed' && r.patched === 'flaky') {
    return reject('reproduction', `The reproduction "${r.testName}" passes only intermittently with the patch, so the patch is not shown to fix the failure.`, [r.testName]);
  }
  if (proof?.kind === 'healed' || generated.status === 'reproduced') return { kind: 'validated', tests, flakyTests, reproduction };
  const callReason = proof ? sentence(proof.reason) : input.call.plan.kind === 'none' ? `No call could be made again: ${input.call.plan.reason}` : '';
  const reason = `Nothing shows that the patch heals the captured failure. ${callReason} ${generated.reason}`.replace(/\s+/g, ' ').trim();
  return { kind: 'unproven', reason, tests, flakyTests, reproduction: { ...reproduction, status: generated.status === 'skipped' && !proof ? 'skipped' : 'not-reproduced', reason } };
}

/** The harness's conclusion, when a call was planned and made on the baseline. */
function callProof(call: CallRuns, allowedErrors: readonly string[]): CallProof | undefined {
  if (call.plan.kind === 'none' || !call.baseline) return undefined;
  return judgeCall(call.captured ?? { type: '', message: '' }, call.baseline, call.patched, allowedErrors);
}

function withCall(evidence: ReproductionEvidence, call: CallRuns): ReproductionEvidence {
  if (call.plan.kind === 'none' || !call.baseline) return evidence;
  const made = call.baseline.outcome === 'harness-failed' ? call.plan.candidates[0] : call.plan.candidates[call.baseline.candidate];
  if (!made) return evidence;
  return {
    ...evidence,
    call: {
      module: made.module.kind === 'file' ? made.module.path : made.module.specifier,
      export: made.export,
      input: made.input,
      baseline: outcomeEvidence(call.baseline),
      ...(call.patched ? { patched: outcomeEvidence(call.patched) } : {}),
    },
  };
}

function outcomeEvidence(outcome: CallOutcome): OutcomeEvidence {
  if (outcome.outcome === 'harness-failed') return { outcome: 'harness-failed', reason: outcome.reason };
  if (outcome.outcome === 'returned') return { outcome: 'returned' };
  const frame = outcome.frames[0];
  return { outcome: 'threw', type: outcome.type, message: outcome.message.slice(0, 500), ...(frame ? { frame: describeFrame(frame) } : {}) };
}

function evidence(baseline: Map<string, TestEvidence>, patched: Map<string, TestEvidence>): TestEvidence[] {
  const out: TestEvidence[] = [];
  for (const [name, t] of patched) out.push({ ...t, baseline: baseline.get(name)?.status });
  for (const [name, t] of baseline) {
    if (!patched.has(name)) out.push({ name, status: 'skipped', durationMs: 0, baseline: t.status, message: 'did not run with the patch' });
  }
  return out;
}

function reproductionEvidence(r: ReproductionOutcome): ReproductionEvidence {
  if (r.kind === 'none') return { status: 'skipped', reason: `No reproduction could be built: ${r.reason}` };
  if (r.baseline !== 'failed') {
    return {
      status: 'not-reproduced',
      testFile: r.testFile,
      diff: r.diff,
      reason: `The generated test "${r.testName}" did not fail on the unpatched baseline, so it does not reproduce the captured failure; it was not counted.`,
    };
  }
  if (r.patched === 'passed') {
    return {
      status: 'reproduced',
      testFile: r.testFile,
      diff: r.diff,
      reason: `"${r.testName}" fails on the baseline${r.baselineMessage ? ` (${firstLine(r.baselineMessage)})` : ''} and passes with the patch.`,
    };
  }
  return {
    status: 'reproduced',
    testFile: r.testFile,
    diff: r.diff,
    reason: `"${r.testName}" fails on the baseline and ${r.patched === 'flaky' ? 'only sometimes passes' : 'still fails'} with the patch.`,
  };
}

function sentence(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function firstLine(text: string): string {
  const line = text.split('\n').find((l) => l.trim() !== '') ?? text;
  return line.trim().slice(0, 200);
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}
