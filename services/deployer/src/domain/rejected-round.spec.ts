import { patchIdSchema, serviceNameSchema, type EventData, type IncidentId, type PatchId, type RecordedEvent } from '@antibody/contracts';
import { deciderSpec, testStream } from '@antibody/testing';
import { incidentFold } from '@antibody/domain';
import { decideRejectedRound, type VerdictRecorded } from './rejected-round';

const INCIDENT = '7c2e3d4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f' as IncidentId;
const SHOP = serviceNameSchema.parse('shop');
const A = patchIdSchema.parse('aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa');
const B = patchIdSchema.parse('bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb');
const C = patchIdSchema.parse('cccccccc-cccc-4ccc-8ccc-cccccccccccc');

/** An incident whose diagnosis proposed A, B and C, best first. */
function incident() {
  const s = testStream(`incident-${INCIDENT}`);
  const exception = { type: 'TypeError', value: 'x is undefined' };
  const proposed = (patchId: PatchId, rank: number) => s.event('PatchProposed', { patchId, diff: `diff of ${rank}`, files: ['src/cart.js'], rationale: `guard ${rank}`, source: 'template', templateId: 't', rank, confidence: 0.8 });
  const given = [
    s.event('IncidentOpened', { incidentId: INCIDENT, service: SHOP, fingerprint: 'f', exception, firstSeen: '2026-01-01T00:00:00.000Z' }),
    s.event('ErrorRecorded', { exception, frames: [], tags: {}, receivedAt: '2026-01-01T00:00:00.000Z' }),
    s.event('DiagnosisMade', { rootCause: 'x may be missing', location: { file: 'src/cart.js', line: 2 }, source: 'rule', ruleId: 'r', confidence: 0.9 }),
    proposed(C, 3),
    proposed(A, 1),
    proposed(B, 2),
  ];
  const rejected = (patchId: PatchId, stage: EventData<'PatchRejected'>['stage'], reason: string) => s.event('PatchRejected', { patchId, reason, failingTests: [], ...(stage ? { stage } : {}) });
  const validated = (patchId: PatchId) => s.event('PatchValidated', { patchId, tests: [{ name: 't1', status: 'passed' }], reproduction: { status: 'reproduced' } } as EventData<'PatchValidated'>);
  return { s, given, rejected, validated };
}

const spec = deciderSpec({ fold: incidentFold, decide: (command: VerdictRecorded, state) => decideRejectedRound(command, state) });
const when = (verdict: RecordedEvent): VerdictRecorded => ({ verdictId: verdict.eventId });

describe('a round whose every candidate was rejected', () => {
  it('given A and B rejected, when the last verdict rejects C, then the incident is escalated at validation naming each patch, its rank, stage and reason', () => {
    const { given, rejected } = incident();
    const rA = rejected(A, 'reproduction', 'the captured TypeError still happens at src/cart.js:2');
    const rB = rejected(B, 'tests', 'cart.spec.js › total: expected 3, got NaN');
    const rC = rejected(C, undefined, 'the patch does\nnot apply');
    spec
      .given([...given, rB, rA, rC])
      .when(when(rC))
      .then({
        kind: 'append',
        events: [
          {
            type: 'IncidentEscalated',
            data: {
              step: 'validation',
              reason:
                'the validator rejected all 3 candidates of round 0: ' +
                'patch aaaaaaaa (rank 1) rejected at reproduction: the captured TypeError still happens at src/cart.js:2; ' +
                'patch bbbbbbbb (rank 2) rejected at tests: cart.spec.js › total: expected 3, got NaN; ' +
                'patch cccccccc (rank 3) rejected: the patch does not apply; a person decides the next step',
            },
          },
        ],
      });
  });

  it('given verdicts in any order, then exactly one of them escalates, once per round', () => {
    for (const order of [[A, B, C], [C, B, A], [B, A, C]]) {
      const { given, rejected } = incident();
      const verdicts = order.map((patchId) => rejected(patchId, 'tests', 'a test failed'));
      const decisions = verdicts.map((verdict) => spec.given([...given, ...verdicts]).when(when(verdict)).decision());
      expect(decisions.map((d) => d.kind)).toEqual(['ignore', 'ignore', 'append']);
    }
  });

  it('given a candidate validated, then no verdict escalates (the fix is committed instead)', () => {
    const { given, rejected, validated } = incident();
    const verdicts = [rejected(A, 'tests', 'no'), validated(C), rejected(B, 'tests', 'no')];
    for (const verdict of verdicts) spec.given([...given, ...verdicts]).when(when(verdict)).thenMatches({ kind: 'ignore' });
  });

  it('given the escalation already recorded, when the settling verdict is delivered again, then it is not escalated twice', () => {
    const { s, given, rejected } = incident();
    const verdicts = [rejected(A, 'tests', 'no'), rejected(B, 'tests', 'no'), rejected(C, 'tests', 'no')];
    const escalated = s.event('IncidentEscalated', { step: 'validation', reason: 'the validator rejected all 3 candidates' });
    spec.given([...given, ...verdicts, escalated]).when(when(verdicts[2]!)).then({ kind: 'ignore', because: 'the round already ended (escalated)' });
  });

  it('given a single candidate, then its rejection names it as the only one; a very long reason is cut so that every patch is named', () => {
    const s = testStream(`incident-${INCIDENT}`);
    const exception = { type: 'TypeError', value: 'x is undefined' };
    const given = [
      s.event('IncidentOpened', { incidentId: INCIDENT, service: SHOP, fingerprint: 'f', exception, firstSeen: '2026-01-01T00:00:00.000Z' }),
      s.event('ErrorRecorded', { exception, frames: [], tags: {}, receivedAt: '2026-01-01T00:00:00.000Z' }),
      s.event('PatchProposed', { patchId: A, diff: 'd', files: ['src/cart.js'], rationale: 'guard', source: 'template', templateId: 't', rank: 1, confidence: 0.8 }),
    ];
    const rA = s.event('PatchRejected', { patchId: A, reason: 'x'.repeat(5000), failingTests: [], stage: 'build' });
    const decision = spec.given([...given, rA]).when(when(rA)).decision();
    expect(decision).toMatchObject({ kind: 'append', events: [{ type: 'IncidentEscalated', data: { step: 'validation', reason: expect.stringMatching(/^the validator rejected the only candidate of round 0: patch aaaaaaaa \(rank 1\) rejected at build: x{299}…; a person decides the next step$/) } }] });
  });

  it('given a later round after a rollback, then only that round\'s candidates are named', () => {
    const { s, given, rejected, validated } = incident();
    const first = [validated(A), rejected(B, 'tests', 'no'), rejected(C, 'tests', 'no')];
    const D = patchIdSchema.parse('dddddddd-dddd-4ddd-8ddd-dddddddddddd');
    const second = [
      s.event('RolledBack', { patchId: A, reason: 'errors went up', stage: 5, cause: 'error-regression' }),
      s.event('DiagnosisRequested', { reason: 'patch A was rolled back', step: 'rollout', excludePatchIds: [A] }),
      s.event('DiagnosisMade', { rootCause: 'x may be missing', location: { file: 'src/cart.js', line: 2 }, source: 'rule', ruleId: 'r', confidence: 0.9 }),
      s.event('PatchProposed', { patchId: D, diff: 'd', files: ['src/cart.js'], rationale: 'guard', source: 'template', templateId: 't', rank: 1, confidence: 0.8 }),
    ];
    const rD = rejected(D, 'policy', 'touches a forbidden path');
    spec.given([...given, ...first, ...second, rD]).when(when(rD)).thenMatches({
      kind: 'append',
      events: [{ type: 'IncidentEscalated', data: { step: 'validation', reason: 'the validator rejected the only candidate of round 1: patch dddddddd (rank 1) rejected at policy: touches a forbidden path; a person decides the next step' } }],
    });
  });

  it('given unproven candidates, then the escalation says none was validated and names each unproven one with its reason; a policy that sends them as pull requests leaves the round to the commit', () => {
    const { s, given, rejected } = incident();
    const unproven = (patchId: PatchId, reason: string) => s.event('PatchUnproven', { patchId, reason, tests: [], reproduction: { status: 'not-reproduced' } });
    const uA = unproven(A, 'the captured call returned on the unpatched baseline');
    const rB = rejected(B, 'tests', 'no');
    const uC = unproven(C, 'no captured call');
    spec.given([...given, uA, rB, uC]).when(when(uC)).thenMatches({
      kind: 'append',
      events: [
        {
          type: 'IncidentEscalated',
          data: {
            step: 'validation',
            reason:
              'the validator validated none of all 3 candidates (2 unproven: no reproduction could show they heal) of round 0: ' +
              'patch aaaaaaaa (rank 1) unproven: the captured call returned on the unpatched baseline; patch bbbbbbbb (rank 2) rejected at tests: no; ' +
              'patch cccccccc (rank 3) unproven: no captured call; a person decides the next step',
          },
        },
      ],
    });
    const proposing = deciderSpec({ fold: incidentFold, decide: (command: VerdictRecorded, state) => decideRejectedRound(command, state, { proposeUnproven: true }) });
    proposing.given([...given, uA, rB, uC]).when(when(uC)).then({ kind: 'ignore', because: 'an unproven candidate is proposed as a pull request, as the policy allows' });
  });
});
