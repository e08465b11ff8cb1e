import { loopOutcome, progressLines, type ProgressEvent } from './progress';

let v = 0;
const e = (type: string, data: Record<string, unknown> = {}): ProgressEvent => ({ type, data, streamVersion: v++ });
const opened = () => e('IncidentOpened', { exception: { type: 'TypeError', value: "Cannot read properties of undefined (reading 'country')" }, culprit: 'src/checkout.ts in placeOrder' });

describe('where the healing loop stands', () => {
  beforeEach(() => (v = 0));

  it('given an incident just opened, then it waits for the first sample, then for the analyzer', () => {
    const events = [opened()];
    expect(loopOutcome(events)).toEqual({ status: 'running', waitingFor: 'ErrorRecorded (ingest)' });
    expect(loopOutcome([...events, e('ErrorRecorded')])).toEqual({ status: 'running', waitingFor: 'DiagnosisMade / DiagnosisFailed (analyzer)' });
  });

  it('given a failed diagnosis, then the loop stopped at diagnosis with its reason', () => {
    const events = [opened(), e('ErrorRecorded'), e('DiagnosisFailed', { reason: 'no rule matches; the LLM tier is off' })];
    expect(loopOutcome(events)).toEqual({ status: 'stopped', stage: 'diagnosis (analyzer)', reason: 'no rule matches; the LLM tier is off' });
  });

  it('given every proposed patch rejected, then the loop stopped at validation naming each reason', () => {
    const events = [opened(), e('DiagnosisMade'), e('PatchProposed', { patchId: 'aaaaaaaa-1', rank: 1 }), e('PatchProposed', { patchId: 'bbbbbbbb-2', rank: 2 })];
    expect(loopOutcome([...events, e('PatchRejected', { patchId: 'aaaaaaaa-1', reason: 'build fails' })])).toMatchObject({ status: 'running' });
    const all = [...events, e('PatchRejected', { patchId: 'aaaaaaaa-1', reason: 'build fails' }), e('PatchRejected', { patchId: 'bbbbbbbb-2', reason: 'tests fail' })];
    expect(loopOutcome(all)).toEqual({ status: 'stopped', stage: 'validation (no proposed patch was validated: each rejected, or unproven)', reason: 'patch aaaaaaaa: build fails; patch bbbbbbbb: tests fail' });
  });

  it('given a completed rollout, then the incident is healed with the promoted release', () => {
    const events = [opened(), e('PatchProposed', { patchId: 'p', rank: 1 }), e('PatchValidated', { patchId: 'p', tests: [] }), e('FixCommitted', { patchId: 'p' }), e('RolloutStarted', { stages: [10, 100] }), e('StageAdvanced', { stage: 100 }), e('RolloutCompleted', { patchId: 'p', release: 'shop@abc' })];
    expect(loopOutcome(events)).toEqual({ status: 'healed', patchId: 'p', release: 'shop@abc' });
    expect(progressLines(events).map((l) => l.text.split(/\s{2,}/)[0])).toEqual(['incident opened', 'patched', 'validated', 'committed', 'rolling out', 'rolled out', 'rollout completed']);
  });

  it('given a rollback sent back to diagnosis, then a new round waits for the analyzer; an escalation stops it with the reason', () => {
    const rolled = [opened(), e('ErrorRecorded'), e('DiagnosisMade'), e('PatchProposed', { patchId: 'p', rank: 1 }), e('PatchValidated', { patchId: 'p' }), e('FixCommitted'), e('RolloutStarted'), e('RolledBack', { stage: 10, cause: 'latency-regression', reason: 'slower' }), e('DiagnosisRequested', { reason: 'patch p was rolled back' })];
    expect(loopOutcome(rolled)).toEqual({ status: 'running', waitingFor: 'DiagnosisMade / DiagnosisFailed (analyzer)' });
    expect(loopOutcome([...rolled, e('IncidentEscalated', { step: 'patch', reason: 'no other fix' })])).toEqual({ status: 'stopped', stage: 'escalated at patch', reason: 'no other fix' });
  });
});
