import type { PatchId, PatternId } from '@antibody/contracts';
import { rankProposals, type Proposal } from './patching';

const p = (source: Proposal['source'], confidence: number, diff: string): Proposal => ({ source, confidence, diff, files: ['src/a.ts'], rationale: 'r', ...(source === 'template' ? { templateId: 'guard-clause' } : source === 'pattern' ? { patternId: 'x' as PatternId } : { model: 'm' }) });

describe('ranking proposals', () => {
  it('puts learned patterns first, then by confidence; drops duplicate diffs; caps the list', () => {
    const events = rankProposals([p('template', 0.9, 'd1'), p('pattern', 0.6, 'd2'), p('template', 0.95, 'd3'), p('template', 0.5, 'd1')], (i) => `id-${i}` as PatchId, { baseCommit: 'abc1234' }, 2);
    expect(events.map((e) => [e.data['rank'], e.data['source'], e.data['diff'], e.data['patchId']])).toEqual([
      [1, 'pattern', 'd2', 'id-0'],
      [2, 'template', 'd3', 'id-1'],
    ]);
    expect(events[0]?.data['baseCommit']).toBe('abc1234');
  });
});
