import { withEscalation } from '@antibody/fix-kit';
import type { PatchEvent } from './patching';

type PatchFailedEvent = Extract<PatchEvent, { type: 'PatchFailed' }>;

describe('an incident no patch can be written for', () => {
  it('is escalated with the reason, in the same append as PatchFailed', () => {
    const failed: PatchEvent = { type: 'PatchFailed', data: { reason: 'no template fits and the LLM tier is off' } };
    expect(withEscalation([failed])).toEqual([failed, { type: 'IncidentEscalated', data: { reason: 'no patch: no template fits and the LLM tier is off', step: 'patch' } }]);
  });

  it('given a policy budget stopped it, then the escalation says which budget, with its limit and the spend; an escalation already there is kept as it is', () => {
    const failed: PatchFailedEvent = { type: 'PatchFailed', data: { reason: 'the per-incident LLM budget would be exceeded' } };
    const events = withEscalation([failed], { scope: 'incident', limitUsd: 0.5, spentUsd: 0.49 });
    expect(events[1]).toEqual({ type: 'IncidentEscalated', data: { reason: 'no patch: the per-incident LLM budget would be exceeded', step: 'patch', budgetExceeded: { scope: 'incident', limitUsd: 0.5, spentUsd: 0.49 } } });
    expect(withEscalation(events)).toEqual(events);
  });

  it('is not escalated when patches were proposed', () => {
    const proposed: PatchEvent = { type: 'PatchProposed', data: { rank: 1 } };
    expect(withEscalation([proposed])).toEqual([proposed]);
  });
});
