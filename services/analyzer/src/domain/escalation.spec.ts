import { withEscalation } from '@antibody/fix-kit';
import { diagnosisFailed, type DiagnosisEvent } from './diagnosis';

describe('an incident the analyzer cannot take further', () => {
  it('is escalated with the reason, in the same append as the failed diagnosis', () => {
    const events = withEscalation([diagnosisFailed('no in-app frame of the stack exists in the repository')]);
    expect(events.map((e) => e.type)).toEqual(['DiagnosisFailed', 'IncidentEscalated']);
    expect(events[1]?.data).toEqual({ reason: 'no diagnosis: no in-app frame of the stack exists in the repository', step: 'diagnosis' });
  });

  it('given a policy budget stopped it, then the escalation says which budget; an escalation already there is kept as it is', () => {
    const events = withEscalation([diagnosisFailed('no rule matches; the daily LLM budget would be exceeded')], { scope: 'daily', limitUsd: 5, spentUsd: 4.99 });
    expect(events[1]?.data).toEqual({ reason: 'no diagnosis: no rule matches; the daily LLM budget would be exceeded', step: 'diagnosis', budgetExceeded: { scope: 'daily', limitUsd: 5, spentUsd: 4.99 } });
    expect(withEscalation(events)).toEqual(events);
  });

  it('is not escalated when a diagnosis was made', () => {
    const made = { type: 'DiagnosisMade', data: {} } as unknown as DiagnosisEvent;
    expect(withEscalation([made])).toEqual([made]);
  });

});
