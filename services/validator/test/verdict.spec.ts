import { decideVerdict, type ReproductionOutcome, type RunSummary, type VerdictInput } from '../src/domain/verdict';
import type { TestStatus } from '../src/domain/test-results';

// Given/when/then over the pure decision: runs and the reproduction in, the verdict out.
const run = (tests: Record<string, TestStatus>, extra: Partial<RunSummary> = {}): RunSummary => ({
  results: { source: 'tap', tests: Object.entries(tests).map(([name, status]) => ({ name, status, durationMs: 5 })) },
  exitCode: Object.values(tests).includes('failed') ? 1 : 0,
  timedOut: false,
  violations: [],
  ...extra,
});
const reproduced: ReproductionOutcome = { kind: 'built', testFile: 'test/r.test.js', testName: 'repro', diff: 'd', baseline: 'failed', patched: 'passed' };

function given(baseline: RunSummary) {
  const input: { -readonly [K in keyof VerdictInput]: VerdictInput[K] } = { baseline, patched: baseline, reruns: [], reproduction: reproduced, call: { plan: { kind: 'none', reason: 'the report names no call.' } }, allowedErrors: [], risks: [] };
  const when = {
    patched(patched: RunSummary, ...reruns: RunSummary[]) {
      input.patched = patched;
      input.reruns = reruns;
      return when;
    },
    reproduction(r: ReproductionOutcome) {
      input.reproduction = r;
      return when;
    },
    risks(...risks: string[]) {
      input.risks = risks;
      return when;
    },
    then: () => decideVerdict(input),
  };
  return when;
}

describe('decideVerdict', () => {
  it('validates a patch that keeps every baseline test passing and fixes the reproduction', () => {
    const verdict = given(run({ a: 'passed', b: 'passed' })).patched(run({ a: 'passed', b: 'passed' })).then();
    expect(verdict.kind).toBe('validated');
    expect(verdict.reproduction.status).toBe('reproduced');
    expect(verdict.tests).toEqual([
      { name: 'a', status: 'passed', durationMs: 5, baseline: 'passed', message: undefined },
      { name: 'b', status: 'passed', durationMs: 5, baseline: 'passed', message: undefined },
    ]);
  });

  it('rejects a patch that breaks a test that passed on the baseline, naming it', () => {
    const failing = run({ a: 'passed', b: 'failed' });
    const verdict = given(run({ a: 'passed', b: 'passed' })).patched(failing, failing, failing).then();
    expect(verdict).toMatchObject({ kind: 'rejected', stage: 'tests', failingTests: ['b'] });
    if (verdict.kind === 'rejected') expect(verdict.reason).toBe('1 test that passed on the baseline fails with the patch in all 3 runs: "b".');
  });

  it('does not blame the patch for a test that already failed on the baseline', () => {
    const verdict = given(run({ a: 'passed', b: 'failed' })).patched(run({ a: 'passed', b: 'failed' })).then();
    expect(verdict.kind).toBe('validated');
  });

  it('marks a test with mixed outcomes across re-runs as flaky instead of blaming the patch', () => {
    const verdict = given(run({ a: 'passed', b: 'passed' }))
      .patched(run({ a: 'passed', b: 'failed' }), run({ a: 'passed', b: 'passed' }))
      .then();
    expect(verdict.kind).toBe('validated');
    expect(verdict.flakyTests).toEqual(['b']);
    expect(verdict.tests.find((t) => t.name === 'b')?.status).toBe('flaky');
  });

  it('rejects a patch that does not fix the reproduction', () => {
    const verdict = given(run({ a: 'passed' }))
      .patched(run({ a: 'passed' }))
      .reproduction({ ...reproduced, patched: 'failed', patchedMessage: 'TypeError: x is undefined' })
      .then();
    expect(verdict).toMatchObject({ kind: 'rejected', stage: 'reproduction', failingTests: ['repro'] });
    if (verdict.kind === 'rejected') expect(verdict.reason).toContain('does not fix the reproduction');
  });

  it('says plainly that a patch is unproven when no reproduction could be built, whatever the suite says', () => {
    const none: ReproductionOutcome = { kind: 'none', reason: 'the captured stack has no in-app frame to call.' };
    const verdict = given(run({ a: 'passed' })).patched(run({ a: 'passed' })).reproduction(none).then();
    expect(verdict).toMatchObject({ kind: 'unproven', reason: 'Nothing shows that the patch heals the captured failure. No call could be made again: the report names no call. No reproduction could be built: the captured stack has no in-app frame to call.' });
    expect(verdict.reproduction).toMatchObject({ status: 'skipped' });
  });

  it('does not count a generated test that passes on the baseline as a reproduction', () => {
    const verdict = given(run({ a: 'passed' })).patched(run({ a: 'passed' })).reproduction({ ...reproduced, baseline: 'passed' }).then();
    expect(verdict.reproduction.status).toBe('not-reproduced');
    expect(verdict.kind).toBe('unproven');
  });

  it('rejects a patched run the sandbox had to kill, with the reason', () => {
    const killed = run({ 'node --test (exit code)': 'failed' }, { timedOut: true, exitCode: null, violations: ['the run exceeded the time limit of 10 s and its whole process group was killed'] });
    const verdict = given(run({ a: 'passed' })).patched(killed).then();
    expect(verdict).toMatchObject({ kind: 'rejected', stage: 'tests', violations: ['the run exceeded the time limit of 10 s and its whole process group was killed'] });
  });

  it('rejects a blocked action seen with the patch but not on the baseline', () => {
    const blocked = run({ a: 'failed' }, { violations: ['network access was blocked by the sandbox (ECONNREFUSED 127.0.0.1:5432)'] });
    const verdict = given(run({ a: 'passed' })).patched(blocked, blocked).then();
    expect(verdict.kind === 'rejected' && verdict.reason).toBe('The patch was contained by the sandbox: network access was blocked by the sandbox (ECONNREFUSED 127.0.0.1:5432).');
  });

  it('ignores a blocked action the baseline shows too (the suite itself does it)', () => {
    const v = ['network access was blocked by the sandbox (ENOTFOUND example.com)'];
    const verdict = given(run({ a: 'passed' }, { violations: v })).patched(run({ a: 'passed' }, { violations: v })).then();
    expect(verdict.kind).toBe('validated');
  });

  it('rejects a patch that adds a risky capability, at the policy stage', () => {
    const verdict = given(run({ a: 'passed' })).patched(run({ a: 'passed' })).risks('reads environment variables (src/a.js: process.env.TOKEN)').then();
    expect(verdict).toMatchObject({ kind: 'rejected', stage: 'policy', violations: ['reads environment variables (src/a.js: process.env.TOKEN)'] });
  });

  it('rejects when the baseline itself timed out: nothing to compare with', () => {
    const verdict = given(run({}, { timedOut: true })).patched(run({ a: 'passed' })).then();
    expect(verdict).toMatchObject({ kind: 'rejected', stage: 'baseline' });
  });

  it('rejects when no test passes on the baseline: a broken release proves nothing', () => {
    const verdict = given(run({ 'npm test (exit code)': 'failed' })).patched(run({ 'npm test (exit code)': 'failed' })).then();
    expect(verdict).toMatchObject({ kind: 'rejected', stage: 'baseline' });
  });

  it('counts a baseline test that vanished from a failing patched run as broken', () => {
    const verdict = given(run({ a: 'passed', b: 'passed' })).patched(run({ a: 'passed' }, { exitCode: 1 })).then();
    expect(verdict).toMatchObject({ kind: 'rejected', failingTests: ['b'] });
  });
});
