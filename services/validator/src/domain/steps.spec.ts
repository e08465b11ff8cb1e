import { decideInstall, decidePatchedBuild, decidePolicy, reproductionOutcome, rerunPatchedTests, rerunReproduction, sandboxRecord, stillSuspect, REPRODUCTION_DID_NOT_RUN } from './steps';
import type { GeneratedReproduction } from './reproduction';
import type { TestStatus } from './test-results';
import type { RunSummary } from './verdict';

const run = (results: Array<[string, TestStatus]>, overrides: Partial<RunSummary> = {}): RunSummary => ({
  results: { source: 'tap', tests: results.map(([name, status]) => ({ name, status, durationMs: 1 })) },
  exitCode: results.some(([, s]) => s === 'failed') ? 1 : 0,
  timedOut: false,
  violations: [],
  ...overrides,
});

const generated: GeneratedReproduction = {
  kind: 'built',
  framework: 'node:test',
  testFile: 'test/antibody-repro-1.test.js',
  testName: 'antibody reproduction: TypeError in total',
  source: "require('node:test')('x', () => {});\n",
  target: { file: 'src/cart.js', function: 'total', input: 'none' },
};

describe('policy', () => {
  const policy = { allowedPaths: ['src/**'], forbiddenPaths: ['src/secrets/**'] };

  it('given a diff naming no file, then rejected at apply', () => {
    expect(decidePolicy('not a diff', policy)).toEqual({ kind: 'rejected', stage: 'apply', reason: 'The diff names no file to change.' });
  });

  it('given a diff touching a path the policy forbids, then rejected at policy, naming the path and the rule', () => {
    expect(decidePolicy('--- a/src/secrets/key.js\n+++ b/src/secrets/key.js\n', policy)).toEqual({
      kind: 'rejected',
      stage: 'policy',
      reason: 'The patch touches paths the service\'s policy forbids: src/secrets/key.js matches the forbidden path pattern "src/secrets/**".',
      violations: ['src/secrets/key.js matches the forbidden path pattern "src/secrets/**"'],
    });
  });

  it('given a diff within the allowed paths, then it goes on', () => {
    expect(decidePolicy('--- a/src/cart.js\n+++ b/src/cart.js\n', policy)).toBeUndefined();
  });
});

describe('install and build', () => {
  it('given an install that fails, then rejected at install: the patch cannot be validated', () => {
    expect(decideInstall(run([], { exitCode: 1 }))).toMatchObject({ stage: 'install', reason: expect.stringContaining('The install command failed on the unpatched release (exit code 1') });
    expect(decideInstall(run([]))).toBeUndefined();
  });

  it('given a patched build stopped by the sandbox, then rejected at build with the violation', () => {
    const stopped = run([], { exitCode: null, timedOut: true, violations: ['the run exceeded the time limit of 5 s and its whole process group was killed'] });
    expect(decidePatchedBuild(stopped)).toEqual({
      kind: 'rejected',
      stage: 'build',
      reason: 'The build fails with the patch (the run exceeded the time limit of 5 s and its whole process group was killed).',
      violations: ['the run exceeded the time limit of 5 s and its whole process group was killed'],
    });
  });
});

describe('tests: flaky detection', () => {
  it('re-runs while a test that newly failed has not passed since, up to the limit, and never after a timeout', () => {
    const suspects = new Set(['b']);
    expect(rerunPatchedTests(0, 2, suspects, run([['b', 'failed']]))).toBe(true);
    expect(rerunPatchedTests(2, 2, suspects, run([['b', 'failed']]))).toBe(false);
    expect(rerunPatchedTests(0, 2, suspects, run([['b', 'failed']], { timedOut: true }))).toBe(false);
    expect([...stillSuspect(suspects, run([['b', 'passed']]))]).toEqual([]);
    expect([...stillSuspect(suspects, run([['b', 'failed']]))]).toEqual(['b']);
  });
});

describe('reproduction', () => {
  it('given no reproduction could be built, then its reason is kept', () => {
    expect(reproductionOutcome({ kind: 'none', reason: 'no in-app frame.' }, undefined, [])).toEqual({ kind: 'none', reason: 'no in-app frame.' });
  });

  it('given a reproduction that did not run on the baseline, then there is none, saying so', () => {
    expect(reproductionOutcome(generated, undefined, [])).toEqual({ kind: 'none', reason: 'the generated test test/antibody-repro-1.test.js did not run under node:test on the baseline.' });
  });

  it('given a reproduction failing on the baseline and passing with the patch, then it is built, failed then passed, with its test as a diff', () => {
    expect(reproductionOutcome(generated, { status: 'failed', message: 'TypeError' }, [{ status: 'passed' }])).toMatchObject({
      kind: 'built',
      baseline: 'failed',
      patched: 'passed',
      baselineMessage: 'TypeError',
      diff: expect.stringContaining('+++ b/test/antibody-repro-1.test.js'),
    });
  });

  it('given a reproduction that keeps failing with the patch, then it is re-run up to the limit; mixed outcomes are flaky', () => {
    const failedOnBaseline = { status: 'failed' as const };
    expect(rerunReproduction([{ status: 'failed' }], failedOnBaseline, 2)).toBe(true);
    expect(rerunReproduction([{ status: 'failed' }, { status: 'failed' }, { status: 'failed' }], failedOnBaseline, 2)).toBe(false);
    expect(rerunReproduction([{ status: 'passed' }], failedOnBaseline, 2)).toBe(false);
    expect(rerunReproduction([{ status: 'failed' }], { status: 'passed' }, 2)).toBe(false);
    expect(reproductionOutcome(generated, failedOnBaseline, [{ status: 'failed', message: 'still' }, { status: 'passed' }])).toMatchObject({ patched: 'flaky', patchedMessage: 'still' });
    expect(reproductionOutcome(generated, failedOnBaseline, [REPRODUCTION_DID_NOT_RUN])).toMatchObject({ patched: 'failed', patchedMessage: 'the reproduction did not run with the patch' });
  });
});

describe('the sandbox record', () => {
  const install = { network: 'host', writes: 'worktree-and-temp', user: 'unprivileged', limits: ['timeout 900s', 'processes 256'] } as const;
  const tests = { network: 'loopback-only', writes: 'worktree-and-temp', user: 'unprivileged', limits: ['timeout 600s', 'processes 256'] } as const;

  it('given an install with the host network and longer limits, then the top shows the test runs\' limits and each step its own', () => {
    const record = sandboxRecord([
      { step: 'install', enforced: install },
      { step: 'build:baseline', enforced: tests },
      { step: 'test:baseline', enforced: tests },
      { step: 'test:patched', enforced: tests },
    ]);
    expect(record).toEqual({
      ...tests,
      steps: [
        { step: 'install', ...install },
        { step: 'build:baseline', ...tests },
        { step: 'test:baseline', ...tests },
        { step: 'test:patched', ...tests },
      ],
    });
  });

  it('given a validation stopped at install, then the record is the install\'s, which is what ran; before any run, none', () => {
    expect(sandboxRecord([{ step: 'install', enforced: install }])).toEqual({ ...install, steps: [{ step: 'install', ...install }] });
    expect(sandboxRecord([{ step: 'install', enforced: install }, { step: 'build:baseline', enforced: tests }])).toMatchObject({ network: 'loopback-only' });
    expect(sandboxRecord([])).toBeUndefined();
  });
});
