import { failedFixes, rejectedFixes, type FailedFixEvent } from './failed-fixes';

let v = 0;
const e = (type: string, data: Record<string, unknown> = {}): FailedFixEvent => ({ type, data, streamVersion: v++ });

describe('the fixes an incident already saw fail in production', () => {
  beforeEach(() => (v = 0));

  it('given no request for a new diagnosis, then nothing failed', () => {
    expect(failedFixes([e('IncidentOpened'), e('PatchProposed', { patchId: 'p1', diff: 'd1' }), e('RolledBack', { patchId: 'p1' })])).toEqual([]);
  });

  it('given a rollback and the request excluding its patch, then the patch, its diff and why it was rolled back', () => {
    const events = [
      e('PatchProposed', { patchId: 'p1', diff: 'd1', files: ['src/a.ts'] }),
      e('RolledBack', { patchId: 'p1', stage: 5, cause: 'latency-regression', reason: 'canary slower than stable' }),
      e('DiagnosisRequested', { reason: 'patch p1 was rolled back', excludePatchIds: ['p1'] }),
    ];
    expect(failedFixes(events)).toEqual([{ patchId: 'p1', diff: 'd1', files: ['src/a.ts'], outcome: 'rolled back at 5% (latency-regression): canary slower than stable' }]);
  });

  it('given two rounds with cumulative exclusions, then each patch once, in the order it failed; a request after `upTo` does not count yet', () => {
    const events = [
      e('PatchProposed', { patchId: 'p1', diff: 'd1', files: ['src/a.ts'] }),
      e('DiagnosisRequested', { reason: 'first failed', excludePatchIds: ['p1'] }),
      e('PatchProposed', { patchId: 'p2', diff: 'd2', files: ['src/a.ts'] }),
      e('DiagnosisRequested', { reason: 'second failed', excludePatchIds: ['p1', 'p2'] }),
    ];
    expect(failedFixes(events).map((f) => [f.patchId, f.outcome])).toEqual([
      ['p1', 'first failed'],
      ['p2', 'second failed'],
    ]);
    expect(failedFixes(events, 2).map((f) => f.patchId)).toEqual(['p1']);
  });

  it('given an excluded id the stream never proposed, then it is still excluded, without a diff', () => {
    expect(failedFixes([e('DiagnosisRequested', { reason: 'r', excludePatchIds: ['ghost'] })])).toEqual([{ patchId: 'ghost', outcome: 'r' }]);
  });
});

describe('the fixes the validator rejected', () => {
  beforeEach(() => (v = 0));

  it('given a rejected and a validated proposal, then the rejected one with its change, commit and reason; a rejection after `upTo` does not count yet', () => {
    const events = [
      e('PatchProposed', { patchId: 'p1', diff: 'd1', files: ['src/a.ts'], baseCommit: 'abc1234' }),
      e('PatchProposed', { patchId: 'p2', diff: 'd2', files: ['src/a.ts'], baseCommit: 'abc1234' }),
      e('PatchRejected', { patchId: 'p1', reason: '1 test fails: cart total', failingTests: ['cart total'], stage: 'tests' }),
      e('PatchValidated', { patchId: 'p2' }),
      e('PatchRejected', { patchId: 'p2', reason: 'late', failingTests: [] }),
    ];
    expect(rejectedFixes(events, 3)).toEqual([{ patchId: 'p1', diff: 'd1', files: ['src/a.ts'], baseCommit: 'abc1234', outcome: 'rejected by the validator at tests: 1 test fails: cart total' }]);
    expect(rejectedFixes(events).map((f) => [f.patchId, f.outcome])).toEqual([
      ['p1', 'rejected by the validator at tests: 1 test fails: cart total'],
      ['p2', 'rejected by the validator: late'],
    ]);
  });

  it('given rejections at preparing, installing or the baseline run, then they say nothing about the change and are left out', () => {
    const events = ['prepare', 'install', 'baseline', 'build'].flatMap((stage, i) => [
      e('PatchProposed', { patchId: `p${i}`, diff: `d${i}` }),
      e('PatchRejected', { patchId: `p${i}`, reason: `${stage} failed`, failingTests: [], stage }),
    ]);
    expect(rejectedFixes(events).map((f) => f.patchId)).toEqual(['p3']);
  });

  it('given a rejection whose proposal is not in the stream, then it is left out: there is no change to compare', () => {
    expect(rejectedFixes([e('PatchRejected', { patchId: 'ghost', reason: 'r', failingTests: [] })])).toEqual([]);
  });

  it('given rejections only, then nothing failed in production', () => {
    expect(failedFixes([e('PatchProposed', { patchId: 'p1', diff: 'd1' }), e('PatchRejected', { patchId: 'p1', reason: 'r', failingTests: [] })])).toEqual([]);
  });
});
