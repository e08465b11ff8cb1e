import { withEscalation, type PatchEvent } from './patching';

describe('an incident no patch can be written for', () => {
  it('is escalated with the reason, in the same append as PatchFailed', () => {
    const failed: PatchEvent = { type: 'PatchFailed', data: { reason: 'no template fits and the LLM tier is off' } };
    expect(withEscalation([failed])).toEqual([failed, { type: 'IncidentEscalated', data: { reason: 'no patch: no template fits and the LLM tier is off', step: 'patch' } }]);
  });

  it('is not escalated when patches were proposed', () => {
    const proposed: PatchEvent = { type: 'PatchProposed', data: { rank: 1 } };
    expect(withEscalation([proposed])).toEqual([proposed]);
  });
});
