// The demo's progress view across diagnosis rounds: a rollback sends the incident back to the
// analyzer, and only the latest round decides where the loop stands.
import { loopOutcome, progressLines, type ProgressEvent } from '../src/progress';

let v = 0;
const e = (type: string, data: Record<string, unknown> = {}): ProgressEvent => ({ type, data, streamVersion: v++ });

/** Round 1: diagnosed, one patch validated, rolled out and rolled back; the deployer asks for a new diagnosis. */
const rolledBackRound = (): ProgressEvent[] => [
  e('IncidentOpened', { exception: { type: 'TypeError', value: 'Reduce of empty array with no initial value' } }),
  e('ErrorRecorded'),
  e('DiagnosisMade', { rootCause: 'reduce() without an initial value', source: 'rule', ruleId: 'reduce-empty-array' }),
  e('PatchProposed', { patchId: 'aaaaaaaa-1', rank: 1, source: 'llm', files: ['src/checkout.ts'] }),
  e('PatchValidated', { patchId: 'aaaaaaaa-1', tests: [] }),
  e('FixCommitted', { patchId: 'aaaaaaaa-1' }),
  e('RolloutStarted', { stages: [10, 100] }),
  e('RolledBack', { patchId: 'aaaaaaaa-1', stage: 10, cause: 'latency-regression', reason: 'slower' }),
  e('DiagnosisRequested', { reason: 'patch aaaaaaaa-1 was rolled back', excludePatchIds: ['aaaaaaaa-1'] }),
];

describe('where the healing loop stands across rounds', () => {
  beforeEach(() => (v = 0));

  it('given a rollback, when the analyzer diagnoses again, then the line says so with the round, and the loop waits for the patcher, not for round 1\'s verdicts', () => {
    const events = [...rolledBackRound(), e('DiagnosisMade', { rootCause: 'reduce() without an initial value', source: 'rule', ruleId: 'reduce-empty-array' })];
    const texts = progressLines(events).map((l) => l.text);
    expect(texts.filter((t) => t.startsWith('diagnosed'))).toEqual([
      'diagnosed           reduce() without an initial value [rule reduce-empty-array]',
      'diagnosed again     reduce() without an initial value [rule reduce-empty-array] (round 2)',
    ]);
    expect(loopOutcome(events)).toEqual({ status: 'running', waitingFor: 'PatchProposed / PatchFailed (patcher)' });
    const proposed = [...events, e('PatchProposed', { patchId: 'bbbbbbbb-2', rank: 1, source: 'template' })];
    expect(loopOutcome(proposed)).toEqual({ status: 'running', waitingFor: 'PatchValidated / PatchRejected / PatchUnproven (validator)' });
  });

  it('given the patcher refuses to repeat the failed fix in round 2, then the loop stopped, escalated at patch, with the reason naming it', () => {
    const reason = 'no patch: … the small tier\'s answer repeats patch aaaaaaaa (rolled back at 10% (latency-regression): slower): the same change is not proposed again';
    const events = [...rolledBackRound(), e('DiagnosisMade', { source: 'rule' }), e('PatchFailed', { reason: reason.slice(10) }), e('IncidentEscalated', { step: 'patch', reason })];
    expect(loopOutcome(events)).toEqual({ status: 'stopped', stage: 'escalated at patch', reason });
  });

  it('given the rounds are used up, then the analyzer\'s escalation stops the loop at diagnosis', () => {
    const events = [...rolledBackRound(), e('IncidentEscalated', { step: 'diagnosis', reason: 'patch aaaaaaaa failed in production (…); it already went back to diagnosis 3 times, the most allowed' })];
    expect(loopOutcome(events)).toMatchObject({ status: 'stopped', stage: 'escalated at diagnosis' });
  });

  it('given a second round that heals, then the incident is healed with the second patch', () => {
    const events = [...rolledBackRound(), e('DiagnosisMade', { source: 'rule' }), e('PatchProposed', { patchId: 'bbbbbbbb-2', rank: 1 }), e('PatchValidated', { patchId: 'bbbbbbbb-2' }), e('FixCommitted'), e('RolloutStarted'), e('RolloutCompleted', { patchId: 'bbbbbbbb-2', release: 'shop@def' })];
    expect(loopOutcome(events)).toEqual({ status: 'healed', patchId: 'bbbbbbbb-2', release: 'shop@def' });
  });
});
