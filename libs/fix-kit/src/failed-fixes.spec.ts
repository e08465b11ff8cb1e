import { failedFixes, type FailedFixEvent } from './failed-fixes';

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
