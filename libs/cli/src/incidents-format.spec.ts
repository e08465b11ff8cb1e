import { formatDiff, formatIncidentScreen, formatIncidentTable, formatReproduction, formatVerdict, formatUsd } from './incidents-format';

describe('incidents formatting', () => {
  it('prints the list as aligned columns with short ids, and says when there is nothing', () => {
    const lines = formatIncidentTable([
      { incidentId: '7c38284e-1111-4111-8111-111111111111', service: 'shop', title: 'TypeError: x', status: 'proposed-as-pr', occurrences: 7, lastSeen: '2026-12-03T17:38:16.123Z', costUsd: 0.0042 },
      { incidentId: '0a1b2c3d-2222-4222-8222-222222222222', service: 'billing-api', title: 'RangeError: y', status: 'escalated', occurrences: 12, lastSeen: '2026-12-03T17:00:00.000Z', costUsd: 0 },
    ]);
    expect(lines).toEqual([
      'ID        STATUS          SERVICE      SEEN  LAST SEEN             COST     TITLE',
      '7c38284e  proposed-as-pr  shop         7     2026-12-03T17:38:16Z  $0.0042  TypeError: x',
      '0a1b2c3d  escalated       billing-api  12    2026-12-03T17:00:00Z  $0.0000  RangeError: y',
    ]);
    expect(formatIncidentTable([])).toEqual(['no incidents']);
    expect(formatUsd(undefined)).toBe('$0.0000');
  });

  it('colours a diff only when asked (stdout is a terminal)', () => {
    const diff = '--- a/x.ts\n+++ b/x.ts\n@@ -1 +1 @@\n-old\n+new\n same\n';
    expect(formatDiff(diff)).toEqual(['--- a/x.ts', '+++ b/x.ts', '@@ -1 +1 @@', '-old', '+new', ' same']);
    expect(formatDiff(diff, { color: true })).toEqual(['\u001b[1m--- a/x.ts\u001b[0m', '\u001b[1m+++ b/x.ts\u001b[0m', '\u001b[36m@@ -1 +1 @@\u001b[0m', '\u001b[31m-old\u001b[0m', '\u001b[32m+new\u001b[0m', ' same']);
  });

  it('says each verdict: validated with its tests, rejected with stage and reason, unproven with reason, none yet', () => {
    expect(formatVerdict({ type: 'PatchValidated', tests: [{ name: 'a', status: 'passed', baseline: 'failed' }, { name: 'b', status: 'passed' }], reproduction: { status: 'reproduced' } })).toEqual([
      'verdict: validated — 2 tests: 2 passed, 0 failed, 1 failing on the baseline now pass',
      'reproduction: reproduced',
    ]);
    expect(formatVerdict({ type: 'PatchRejected', reason: 'a test failed', stage: 'tests', failingTests: ['totals'], violations: ['wrote outside the worktree'] })).toEqual([
      'verdict: rejected at tests: a test failed (failing: totals)',
      '  violation: wrote outside the worktree',
    ]);
    expect(formatVerdict({ type: 'PatchUnproven', reason: 'the call did not throw on the baseline', tests: [], counts: { total: 3, passed: 3, failed: 0, skipped: 0, flaky: 0 }, reproduction: { status: 'not-reproduced', reason: 'returned on the baseline' } })).toEqual([
      'verdict: unproven: the call did not throw on the baseline — 3 tests: 3 passed, 0 failed',
      'reproduction: not-reproduced — returned on the baseline',
    ]);
    expect(formatVerdict(null)).toEqual(['verdict: not yet']);
    expect(formatVerdict({ type: 'PatchRejected', reason: 'r', failingTests: [] }, { color: true })[0]).toBe('verdict: \u001b[31mrejected\u001b[0m: r');
  });

  it("shows the reproduction's call evidence on the baseline and the patched tree", () => {
    expect(
      formatReproduction({
        status: 'reproduced',
        testFile: 'test/repro.test.ts',
        call: { module: 'src/orders.ts', export: 'ship', input: 'call', baseline: { outcome: 'threw', type: 'TypeError', message: 'boom', frame: 'src/orders.ts:12 in ship' }, patched: { outcome: 'harness-failed', reason: 'timeout' } },
      }),
    ).toEqual([
      'reproduction: reproduced (test test/repro.test.ts)',
      "  call: src/orders.ts#ship with the call's arguments",
      '    baseline: threw TypeError: boom at src/orders.ts:12 in ship',
      '    patched:  harness-failed timeout',
    ]);
  });

  it('puts the whole story on one screen, skipping what the answer does not have', () => {
    const screen = formatIncidentScreen({
      incidentId: '7c38284e-1111-4111-8111-111111111111',
      service: 'shop',
      title: 'TypeError: x',
      status: 'rolling-out',
      release: 'shop@1',
      costUsd: 0.01,
      traceId: 'abc',
      round: 0,
      occurrences: 3,
      chosenPatchId: 'aaaaaaaa-1111-4111-8111-111111111111',
      rounds: [{ index: 0, diagnosis: { type: 'DiagnosisMade', rootCause: 'why', location: { file: 'a.ts', line: 3 }, source: 'llm', confidence: 0.5 } }],
      candidates: [{ patchId: 'aaaaaaaa-1111-4111-8111-111111111111', round: 0, rank: 1, source: 'llm', files: ['a.ts'], diff: '+x\n', verdict: null, committed: { commitSha: 'abc1234', branch: 'b' } }],
      rollout: { release: 'shop@2', patchId: 'aaaaaaaa-1111-4111-8111-111111111111', status: 'running', stage: 25, stages: [5, 25, 100], evidence: [{ errorRate: 0 }] },
    });
    expect(screen).toEqual([
      'incident 7c38284e-1111-4111-8111-111111111111  rolling-out  shop (shop@1)',
      '  TypeError: x',
      '  seen 3×, first —, last —',
      '  round 0 · cost $0.0100 · trace abc',
      '  fix: patch aaaaaaaa committed abc1234 on b',
      '',
      'Diagnosis, round 0',
      '  why',
      '  at a.ts:3 · by llm (50%)',
      '',
      'Patch aaaaaaaa  round 0, rank 1 · llm · a.ts  [chosen]',
      '    +x',
      '  verdict: not yet',
      '  committed abc1234 on b',
      '',
      'Rollout',
      '  shop@2 of patch aaaaaaaa: running at 25 % (stages 5 → 25 → 100)',
      '  evidence: {"errorRate":0}',
    ]);
  });
});
