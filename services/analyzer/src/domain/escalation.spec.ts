import { afterFailedPatches, diagnosisFailed, withEscalation, type DiagnosisEvent } from './diagnosis';

describe('an incident the analyzer cannot take further', () => {
  it('is escalated with the reason, in the same append as the failed diagnosis', () => {
    const events = withEscalation([diagnosisFailed('no in-app frame of the stack exists in the repository')]);
    expect(events.map((e) => e.type)).toEqual(['DiagnosisFailed', 'IncidentEscalated']);
    expect(events[1]?.data).toEqual({ reason: 'no diagnosis: no in-app frame of the stack exists in the repository', step: 'diagnosis' });
  });

  it('is not escalated when a diagnosis was made', () => {
    const made = { type: 'DiagnosisMade', data: {} } as unknown as DiagnosisEvent;
    expect(withEscalation([made])).toEqual([made]);
  });

  it('after a rolled-back patch, ends escalated naming what failed', () => {
    const event = afterFailedPatches({ reason: 'error-regression at 5%', step: 'rollout', excludePatchIds: ['1a2b3c4d-0000-4000-8000-000000000000'] });
    expect(event.type).toBe('IncidentEscalated');
    expect(event.data.reason).toContain('error-regression at 5%');
    expect(event.data.reason).toContain('1a2b3c4d');
  });
});
