import { decideRediagnosis, RediagnosisError, type IncidentEventFacts } from './rediagnosis';
import { withEscalation } from './diagnosis';

const P1 = '1a2b3c4d-0000-4000-8000-000000000001';
const P2 = '5e6f7a8b-0000-4000-8000-000000000002';
const P3 = '9c0d1e2f-0000-4000-8000-000000000003';
const P4 = '3a4b5c6d-0000-4000-8000-000000000004';

let n = 0;
const e = (type: string, data: Record<string, unknown> = {}, eventId = `${type}-${n++}`): IncidentEventFacts => ({ type, data, eventId });
const requested = (ids: string[], eventId: string) => e('DiagnosisRequested', { reason: `patch ${ids.at(-1)} was rolled back at 5%: canary slower (latency-regression)`, step: 'rollout', excludePatchIds: ids }, eventId);
/** One healing round that ended in a rollback of `patchId`. */
const rolledBackRound = (patchId: string) => [e('DiagnosisMade'), e('PatchProposed', { patchId }), e('PatchValidated', { patchId }), e('RolledBack', { patchId })];
const opened = () => [e('IncidentOpened'), e('ErrorRecorded', {}, 'sample-1'), e('ErrorRecorded', {}, 'sample-2')];

describe('answering a request to diagnose again after a rollback', () => {
  beforeEach(() => (n = 0));

  it('given a first rollback, when the request arrives, then the first recorded sample is diagnosed again in round 1, noting the excluded patch', () => {
    const events = [...opened(), ...rolledBackRound(P1), requested([P1], 'r1')];
    expect(decideRediagnosis(events, 'r1', 3)).toEqual({ kind: 'diagnose', round: 1, sampleId: 'sample-1', note: 'diagnosed again after a rollback (round 1 of at most 3): patch 1a2b3c4d excluded' });
  });

  it('given the request was already answered (redelivery), then nothing is appended again', () => {
    const events = [...opened(), ...rolledBackRound(P1), requested([P1], 'r1'), e('DiagnosisMade')];
    expect(decideRediagnosis(events, 'r1', 3)).toEqual({ kind: 'answered' });
    expect(decideRediagnosis([...opened(), ...rolledBackRound(P1), requested([P1], 'r1'), e('IncidentEscalated')], 'r1', 3)).toEqual({ kind: 'answered' });
  });

  it('given a later request or a reopening, then an older request is superseded', () => {
    const events = [...opened(), ...rolledBackRound(P1), requested([P1], 'r1'), ...rolledBackRound(P2), requested([P1, P2], 'r2')];
    expect(decideRediagnosis(events, 'r1', 3)).toEqual({ kind: 'answered' });
    expect(decideRediagnosis(events, 'r2', 3)).toMatchObject({ kind: 'diagnose', round: 2 });
    expect(decideRediagnosis([...opened(), requested([P1], 'r1'), e('IncidentReopened')], 'r1', 3)).toEqual({ kind: 'answered' });
  });

  it('given three rounds already ran, when the fourth rollback asks again with the default bound of 3, then the incident ends escalated naming every failed patch', () => {
    const events = [
      ...opened(),
      ...rolledBackRound(P1), requested([P1], 'r1'),
      ...rolledBackRound(P2), requested([P1, P2], 'r2'),
      ...rolledBackRound(P3), requested([P1, P2, P3], 'r3'),
    ];
    expect(decideRediagnosis(events, 'r3', 3)).toMatchObject({ kind: 'diagnose', round: 3 });
    const fourth = [...events, ...rolledBackRound(P4), requested([P1, P2, P3, P4], 'r4')];
    const decision = decideRediagnosis(fourth, 'r4', 3);
    expect(decision).toEqual({
      kind: 'stop',
      events: [
        {
          type: 'IncidentEscalated',
          data: {
            step: 'diagnosis',
            reason: `patches 1a2b3c4d, 5e6f7a8b, 9c0d1e2f, 3a4b5c6d failed in production (patch ${P4} was rolled back at 5%: canary slower (latency-regression)); it already went back to diagnosis 3 times, the most allowed (ANTIBODY_MAX_ROLLBACK_ROUNDS=3): a person decides the next step`,
          },
        },
      ],
    });
  });

  it('given the bound is 0, then the first rollback is escalated at once, saying re-diagnosis is off', () => {
    const decision = decideRediagnosis([...opened(), ...rolledBackRound(P1), requested([P1], 'r1')], 'r1', 0);
    expect(decision.kind).toBe('stop');
    expect(decision.kind === 'stop' && decision.events[0]?.data.reason).toMatch(/^patch 1a2b3c4d failed in production .*re-diagnosis after a rollback is off \(ANTIBODY_MAX_ROLLBACK_ROUNDS=0\): a person decides/);
  });

  it('given the incident was reopened, then rounds count again from the reopening and its first new sample is diagnosed', () => {
    const events = [
      ...opened(),
      ...rolledBackRound(P1), requested([P1], 'r1'),
      ...rolledBackRound(P2), requested([P1, P2], 'r2'),
      e('IncidentResolved'), e('IncidentReopened'), e('ErrorRecorded', {}, 'sample-3'),
      ...rolledBackRound(P3), requested([P1, P2, P3], 'r3'),
    ];
    expect(decideRediagnosis(events, 'r3', 1)).toMatchObject({ kind: 'diagnose', round: 1, sampleId: 'sample-3' });
  });

  it('given no recorded sample, then the request fails as a diagnosis, which escalates with the reason', () => {
    const decision = decideRediagnosis([e('IncidentOpened'), requested([P1], 'r1')], 'r1', 3);
    expect(decision.kind).toBe('stop');
    const events = withEscalation(decision.kind === 'stop' ? decision.events : []);
    expect(events.map((x) => x.type)).toEqual(['DiagnosisFailed', 'IncidentEscalated']);
    expect(events[1]?.data).toMatchObject({ step: 'diagnosis', reason: expect.stringMatching(/^no diagnosis: patch 1a2b3c4d failed in production .*no recorded error sample/) });
  });

  it('given a request the stream does not hold (read too early), then it throws a typed error, so the delivery is retried', () => {
    expect(() => decideRediagnosis(opened(), 'r9', 3)).toThrow(RediagnosisError);
  });
});
