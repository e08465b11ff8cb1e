import { patchIdSchema, type EventData, type IncidentId, type OperatorIdentity, type PatchId, type RecordedEvent, type ServiceName } from '@antibody/contracts';
import { deciderSpec, testStream } from '@antibody/testing';
import { incidentFold } from './incident';
import { decideOperatorCommand, mayRun, operatorTokenFold, type OperatorCommand } from './operator';
import { foldEvents } from '@antibody/contracts';

const INCIDENT = '9c1d2c6b-8a4f-4c55-9d0e-5f0b3f5e4c6a' as IncidentId;
const P = patchIdSchema.parse('11111111-1111-4111-8111-111111111111');
const Q = patchIdSchema.parse('22222222-2222-4222-8222-222222222222');
const OTHER = patchIdSchema.parse('99999999-9999-4999-8999-999999999999');
const ada: OperatorIdentity = { tokenId: '0b8f6a2e-3c1d-4e5f-9a7b-2d4c6e8f0a13' as OperatorIdentity['tokenId'], name: 'ada', role: 'approver' };

const spec = deciderSpec({ fold: incidentFold, decide: (command: OperatorCommand, state) => decideOperatorCommand(command, state) });

const proposal = (patchId: PatchId, rank: number): EventData<'PatchProposed'> => ({ patchId, diff: `diff ${rank}`, files: ['src/a.ts'], rationale: 'guard', source: 'template', templateId: 't', rank, confidence: 0.8 });

/** An incident with P proposed (and Q, rank 2), at the step each test needs. */
function story() {
  const s = testStream(`incident-${INCIDENT}`);
  const exception = { type: 'TypeError', value: 'x is undefined' };
  const opened = s.event('IncidentOpened', { incidentId: INCIDENT, service: 'shop' as ServiceName, fingerprint: 'f', exception, firstSeen: '2026-01-01T00:00:00.000Z' });
  const sample = s.event('ErrorRecorded', { exception, frames: [], tags: {}, receivedAt: '2026-01-01T00:00:00.000Z' });
  const diagnosed = s.event('DiagnosisMade', { rootCause: 'x may be missing', location: { file: 'src/a.ts', line: 3 }, source: 'rule', ruleId: 'r', confidence: 0.9 });
  const proposedP = s.event('PatchProposed', proposal(P, 1));
  const proposedQ = s.event('PatchProposed', proposal(Q, 2));
  const proposed: RecordedEvent[] = [opened, sample, diagnosed, proposedP, proposedQ];
  return {
    s,
    proposed,
    validated: () => [...proposed, s.event('PatchValidated', { patchId: P, tests: [], reproduction: { status: 'reproduced' } })],
    rejectedBoth: () => [
      ...proposed,
      s.event('PatchRejected', { patchId: P, reason: 'a test failed', failingTests: ['t'], stage: 'tests' }),
      s.event('PatchRejected', { patchId: Q, reason: 'a test failed', failingTests: ['t'], stage: 'tests' }),
      s.event('IncidentEscalated', { reason: 'every candidate rejected', step: 'validation' }),
    ],
  };
}

describe('who may do what', () => {
  it('a viewer may only read; an operator retries, resolves and closes; an approver also approves and rejects; an admin does everything', () => {
    expect(['approve', 'reject', 'retry', 'resolve', 'close'].filter((c) => mayRun('viewer', c as OperatorCommand['kind']))).toEqual([]);
    expect(['approve', 'reject', 'retry', 'resolve', 'close'].filter((c) => mayRun('operator', c as OperatorCommand['kind']))).toEqual(['retry', 'resolve', 'close']);
    expect(['approve', 'reject', 'retry', 'resolve', 'close'].every((c) => mayRun('approver', c as OperatorCommand['kind']) && mayRun('admin', c as OperatorCommand['kind']))).toBe(true);
  });
});

describe('operator tokens', () => {
  it('given a token created then revoked, then it is revoked with when and why; a second creation of the same stream changes nothing', () => {
    const s = testStream('token-0b8f6a2e-3c1d-4e5f-9a7b-2d4c6e8f0a13');
    const created = s.event('OperatorTokenCreated', { tokenId: ada.tokenId, name: 'ada', role: 'approver', hash: 'a'.repeat(64) });
    const again = s.event('OperatorTokenCreated', { tokenId: ada.tokenId, name: 'eve', role: 'admin', hash: 'b'.repeat(64) });
    const revoked = s.event('OperatorTokenRevoked', { tokenId: ada.tokenId, reason: 'left' });
    expect(foldEvents(operatorTokenFold, [created, again])).toEqual({ status: 'active', token: created.data, createdAt: created.recordedAt });
    expect(foldEvents(operatorTokenFold, [created, again, revoked])).toMatchObject({ status: 'revoked', token: { name: 'ada', role: 'approver' }, revokedAt: revoked.recordedAt, revocationReason: 'left' });
  });
});

describe('approve and reject', () => {
  it('given a validated, committed patch, when an approver approves it by name, then DecisionRecorded names the token and the patch', () => {
    const { s, validated } = story();
    spec
      .given([...validated(), s.event('FixCommitted', { patchId: P, branch: 'antibody/x', commitSha: 'abc1234' })])
      .when({ kind: 'approve', by: ada, patchId: P, comment: 'looks right' })
      .then({ kind: 'append', events: [{ type: 'DecisionRecorded', data: { by: 'ada', decision: 'approve', step: 'rollout', patchId: P, comment: 'looks right' } }] });
  });

  it('given a patch of another incident, when approved or rejected, then it is refused as invalid, naming the incident\'s patches', () => {
    const { validated } = story();
    for (const kind of ['approve', 'reject'] as const) {
      spec.given(validated()).when({ kind, by: ada, patchId: OTHER }).thenMatches({ kind: 'refuse', code: 'invalid', because: expect.stringContaining(`patch ${OTHER} is not a patch of incident ${INCIDENT}; its patches: ${P}, ${Q}`) });
    }
  });

  it('given a patch whose validation has not finished, or that is not committed yet, when approved, then it is refused as a conflict saying why', () => {
    const { proposed, validated } = story();
    spec.given(proposed).when({ kind: 'approve', by: ada, patchId: P }).thenMatches({ kind: 'refuse', code: 'conflict', because: expect.stringContaining('not validated (its validation has not finished)') });
    spec.given(validated()).when({ kind: 'approve', by: ada, patchId: P }).thenMatches({ kind: 'refuse', code: 'conflict', because: expect.stringContaining('not committed yet') });
  });

  it('given a rejected patch, when approved, then it is refused: a rejected or unproven patch is never rolled out', () => {
    const { rejectedBoth } = story();
    spec.given(rejectedBoth()).when({ kind: 'approve', by: ada, patchId: P }).thenMatches({ kind: 'refuse', code: 'conflict', because: expect.stringContaining('not validated (PatchRejected)') });
  });

  it('given a patch already rejected by a person, when rejected again, then it is refused naming who rejected it', () => {
    const { s, validated } = story();
    const rejected = s.event('DecisionRecorded', { by: 'bob', decision: 'reject', step: 'rollout', patchId: P });
    spec.given([...validated(), rejected]).when({ kind: 'reject', by: ada, patchId: P }).thenMatches({ kind: 'refuse', code: 'conflict', because: `patch ${P} was already rejected by bob` });
  });

  it('given no incident, when anything is asked, then it is refused as not found', () => {
    spec.given([]).when({ kind: 'close', by: ada, reason: 'x' }).thenMatches({ kind: 'refuse', code: 'not-found' });
  });
});

describe('retry, resolve, close', () => {
  it('given an escalated incident whose candidates were all rejected, when retried from diagnosis, then the decision is recorded and diagnosis is asked again avoiding both', () => {
    const { rejectedBoth } = story();
    spec.given(rejectedBoth()).when({ kind: 'retry', by: ada, step: 'diagnosis', comment: 'tests fixed' }).then({
      kind: 'append',
      events: [
        { type: 'DecisionRecorded', data: { by: 'ada', decision: 'retry', step: 'diagnosis', comment: 'tests fixed' } },
        { type: 'DiagnosisRequested', data: { reason: 'retry from diagnosis asked by ada: tests fixed', step: 'diagnosis', excludePatchIds: [P, Q] } },
      ],
    });
  });

  it('given an incident the loop is still working on, when retried, then it is refused: there is nothing to retry', () => {
    const { proposed } = story();
    spec.given(proposed).when({ kind: 'retry', by: ada, step: 'diagnosis' }).thenMatches({ kind: 'refuse', code: 'conflict', because: expect.stringContaining('is validating, not escalated') });
  });

  it('given an incident escalated at diagnosis (no patch ever), when retried, then it is refused saying the analyzer needs patches to avoid', () => {
    const { s, proposed } = story();
    const [opened, sample] = proposed as [RecordedEvent, RecordedEvent];
    const failed = [opened, sample, s.event('DiagnosisFailed', { reason: 'no rule' }), s.event('IncidentEscalated', { reason: 'no rule', step: 'diagnosis' })];
    spec.given(failed).when({ kind: 'retry', by: ada, step: 'diagnosis' }).thenMatches({ kind: 'refuse', code: 'conflict', because: expect.stringContaining('it stopped at diagnosis: no rule') });
  });

  it('given an open incident, when resolved with a reason, then the manual resolution names the token and IncidentResolved (manual) follows', () => {
    const { validated } = story();
    spec.given(validated()).when({ kind: 'resolve', by: ada, reason: 'hotfix deployed', patchId: P }).then({
      kind: 'append',
      events: [
        { type: 'ManualResolutionRecorded', data: { by: ada, reason: 'hotfix deployed', patchId: P } },
        { type: 'IncidentResolved', data: { resolution: 'manual', patchId: P } },
      ],
    });
    spec.given(validated()).when({ kind: 'resolve', by: ada, reason: 'x', patchId: OTHER }).thenMatches({ kind: 'refuse', code: 'invalid' });
  });

  it('given an open incident, when closed, then IncidentClosed names the token; once closed, every command is refused', () => {
    const { s, proposed } = story();
    spec.given(proposed).when({ kind: 'close', by: ada, reason: 'not a bug' }).then({ kind: 'append', events: [{ type: 'IncidentClosed', data: { by: ada, reason: 'not a bug' } }] });
    const closed = [...proposed, s.event('IncidentClosed', { by: ada, reason: 'not a bug' })];
    spec.given(closed).when({ kind: 'resolve', by: ada, reason: 'x' }).thenMatches({ kind: 'refuse', code: 'conflict', because: expect.stringContaining('was closed by ada') });
  });

  it('given a rollout running, when resolved or closed, then it is refused until the rollout ends or is rejected', () => {
    const { s, validated } = story();
    const running = [...validated(), s.event('FixCommitted', { patchId: P, branch: 'b', commitSha: 'abc1234' }), s.event('RolloutStarted', { patchId: P, release: 'shop@abc1234', stages: [10, 100], at: '2026-01-01T00:00:00.000Z', baseline: { canary: { requests: 0, errors: 0, slow: 0 }, stable: { requests: 0, errors: 0, slow: 0 } } })];
    spec.given(running).when({ kind: 'close', by: ada, reason: 'x' }).thenMatches({ kind: 'refuse', code: 'conflict', because: `patch ${P} is rolling out: reject it first` });
    spec.given(running).when({ kind: 'resolve', by: ada, reason: 'x' }).thenMatches({ kind: 'refuse', code: 'conflict' });
  });
});
