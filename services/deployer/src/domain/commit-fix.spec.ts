import { patchIdSchema, serviceNameSchema, type EventData, type IncidentId, type PatchId, type RecordedEvent } from '@antibody/contracts';
import { deciderSpec, testStream } from '@antibody/testing';
import { foldEvents } from '@antibody/contracts';
import { incidentFold, serviceFold, type ServiceState } from '@antibody/domain';
import { commitSubject, decideCommit, type CommitFacts, type CommitFixCommand } from './commit-fix';

const INCIDENT = '6b1f2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d' as IncidentId;
const SHOP = serviceNameSchema.parse('shop');
const A = patchIdSchema.parse('aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa');
const B = patchIdSchema.parse('bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb');
const C = patchIdSchema.parse('cccccccc-cccc-4ccc-8ccc-cccccccccccc');

const registered: EventData<'ServiceRegistered'> = {
  name: SHOP,
  repository: { url: '/src/shop', defaultBranch: 'main' },
  commands: { test: 'npm test' },
  language: 'javascript',
  deploy: { adapter: 'webhook', settings: { url: 'http://deliver/hooks' } },
  policy: { autoDeploy: true, allowedPaths: ['src/**'], forbiddenPaths: [], budgets: { perIncidentUsd: 1, dailyUsd: 10, monthlyUsd: 100 } },
};

function serviceState(deregistered = false): ServiceState {
  const s = testStream('service-shop');
  const events: RecordedEvent[] = [s.event('ServiceRegistered', registered)];
  if (deregistered) events.push(s.event('ServiceDeregistered', { name: SHOP, reason: 'moved away' }));
  return foldEvents(serviceFold, events);
}

/** An incident whose diagnosis proposed A, B and C, best first. */
function incident() {
  const s = testStream(`incident-${INCIDENT}`);
  const exception = { type: 'TypeError', value: 'x is undefined' };
  const proposed = (patchId: PatchId, rank: number) => s.event('PatchProposed', { patchId, diff: `diff of ${rank}`, files: ['src/cart.js'], rationale: `guard ${rank}\nmore`, source: 'template', templateId: 't', rank, confidence: 0.8 });
  const given = [
    s.event('IncidentOpened', { incidentId: INCIDENT, service: SHOP, fingerprint: 'f', exception, firstSeen: '2026-01-01T00:00:00.000Z' }),
    s.event('ErrorRecorded', { exception, frames: [], tags: {}, receivedAt: '2026-01-01T00:00:00.000Z' }),
    s.event('DiagnosisMade', { rootCause: 'x may be missing', location: { file: 'src/cart.js', line: 2 }, source: 'rule', ruleId: 'r', confidence: 0.9 }),
    proposed(C, 3),
    proposed(A, 1),
    proposed(B, 2),
  ];
  const validated = (patchId: PatchId) => s.event('PatchValidated', { patchId, tests: [{ name: 't1', status: 'passed' }, { name: 't2', status: 'passed' }], reproduction: { status: 'reproduced', diff: 'test diff' } } as EventData<'PatchValidated'>);
  const rejected = (patchId: PatchId) => s.event('PatchRejected', { patchId, reason: 'a test failed', failingTests: [], stage: 'tests' });
  return { s, given, validated, rejected };
}

const spec = deciderSpec({ fold: incidentFold, decide: ({ command, facts }: { command: CommitFixCommand; facts?: CommitFacts }, state) => decideCommit(command, state, facts) });
const when = (verdict: RecordedEvent, facts?: CommitFacts) => ({ command: { verdictId: verdict.eventId, streamId: verdict.streamId }, ...(facts ? { facts } : {}) });
const ready: CommitFacts = { service: serviceState(), localClone: true };

describe('committing the fix of a diagnosis round', () => {
  it('given the better candidates rejected after a worse one was validated, when the last rejection arrives, then it commits the worse one', () => {
    const { given, validated, rejected } = incident();
    const vB = validated(B);
    const rA = rejected(A);
    spec.given([...given, validated(C), vB, rA]).when(when(rA, ready)).thenMatches({ kind: 'commit', patchId: B, diff: 'diff of 2', title: 'fix: guard 2', testDiff: 'test diff', remote: 'origin', evidence: ['2 of 2 tests passed', 'reproduction: reproduced', `incident: ${INCIDENT}`] });
  });

  it('given verdicts in any order, then exactly one of them commits the best-ranked validated candidate', () => {
    for (const order of [['rA', 'vC', 'vB'], ['vB', 'vC', 'rA'], ['vC', 'vB', 'rA']]) {
      const { given, validated, rejected } = incident();
      const verdicts = order.map((v) => (v === 'rA' ? rejected(A) : validated(v === 'vB' ? B : C)));
      const decisions = verdicts.map((verdict) => spec.given([...given, ...verdicts]).when(when(verdict, ready)).decision());
      expect(decisions.filter((d) => d.kind === 'commit')).toEqual([expect.objectContaining({ patchId: B })]);
      expect(decisions.filter((d) => d.kind === 'ignore')).toHaveLength(2);
    }
  });

  it('given a better candidate still waiting for its verdict, when a worse one is validated, then nothing is committed yet', () => {
    const { given, validated } = incident();
    const vC = validated(C);
    spec.given([...given, vC]).when(when(vC, ready)).then({ kind: 'ignore', because: 'this verdict does not settle the fix of the current round' });
  });

  it('given the commit succeeded, then FixCommitted records its branch and commit', () => {
    const { given, validated } = incident();
    const vA = validated(A);
    const fix = { branch: `antibody/${INCIDENT}`, commitSha: 'abcdef1234567890' };
    spec.given([...given, vA]).when(when(vA, { ...ready, commit: { ok: true, fix } })).then({ kind: 'append', events: [{ type: 'FixCommitted', data: { patchId: A, ...fix } }] });
  });

  it('given the fix is already committed, when its verdict is delivered again, then it is not committed twice', () => {
    const { s, given, validated } = incident();
    const vA = validated(A);
    const committed = s.event('FixCommitted', { patchId: A, branch: `antibody/${INCIDENT}`, commitSha: 'abcdef1234567890' });
    spec.given([...given, vA, committed]).when(when(vA, ready)).then({ kind: 'ignore', because: 'patch aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa is already committed (abcdef1234567890)' });
  });

  it('asks for the service, then escalates when it was deregistered, the clone is not local, or the commit failed', () => {
    const { given, validated } = incident();
    const vA = validated(A);
    const escalated = (reason: string | RegExp) => ({ kind: 'append', events: [{ type: 'IncidentEscalated', data: { step: 'rollout', reason: expect.stringMatching(reason) } }] });
    spec.given([...given, vA]).when(when(vA)).then({ kind: 'read-service', service: SHOP });
    spec.given([...given, vA]).when(when(vA, { service: serviceState(true), localClone: true })).thenMatches(escalated(/^service shop was deregistered \(moved away\).*nowhere to commit the fix$/));
    spec.given([...given, vA]).when(when(vA, { service: serviceState(), localClone: false })).thenMatches(escalated(/is not a local clone on this host/));
    spec.given([...given, vA]).when(when(vA, { ...ready, commit: { ok: false, reason: 'the patch does not apply' } })).thenMatches(escalated('the fix could not be committed: the patch does not apply'));
  });

  it('given a round that ended in an escalation, then a late verdict commits nothing', () => {
    const { s, given, validated } = incident();
    const rest = [s.event('PatchRejected', { patchId: A, reason: 'no', failingTests: [], stage: 'tests' }), s.event('IncidentEscalated', { reason: 'a person decides', step: 'validation' })];
    const vB = validated(B);
    spec.given([...given, ...rest, vB]).when(when(vB, ready)).thenMatches({ kind: 'ignore' });
  });

  it('given no candidate validated and one unproven, then it is committed (as a pull request, titled unproven) only where the policy says pull-request', () => {
    const { s, given, rejected } = incident();
    const uB = s.event('PatchUnproven', { patchId: B, reason: 'The captured call returned on the unpatched baseline.', tests: [{ name: 't1', status: 'passed', durationMs: 1 }], reproduction: { status: 'not-reproduced' } });
    const verdicts = [rejected(A), uB, rejected(C)];
    const last = verdicts[2]!;
    spec.given([...given, ...verdicts]).when(when(last, ready)).then({ kind: 'ignore', because: 'an unproven fix is escalated, not committed, under this policy' });
    const pr = foldEvents(serviceFold, [testStream('service-shop').event('ServiceRegistered', { ...registered, policy: { ...registered.policy, unprovenPatches: 'pull-request' } })]);
    spec.given([...given, ...verdicts]).when(when(last, { service: pr, localClone: true })).thenMatches({
      kind: 'commit',
      patchId: B,
      title: 'fix (unproven): guard 2',
      evidence: ['1 of 1 tests passed', 'UNPROVEN: The captured call returned on the unpatched baseline. Review it as a person: it is never rolled out automatically.', `incident: ${INCIDENT}`],
    });
    expect(spec.given([...given, ...verdicts]).when(when(last, { service: pr, localClone: true })).decision()).not.toHaveProperty('testDiff');
  });

  it('writes the commit subject as a whole sentence of at most 72 characters, never one cut short', () => {
    expect(commitSubject('fix', 'Guard items before reducing them. The cart may be empty.', 'heal TypeError in src/cart.js')).toBe('fix: Guard items before reducing them');
    const long = 'Default the options object when the caller passes none, so that the constructor can read its max property safely';
    expect(commitSubject('fix', long, 'heal TypeError in lib/lru-cache.js')).toBe('fix: heal TypeError in lib/lru-cache.js');
    expect(commitSubject('fix (unproven)', long, `heal TypeError in ${'very/'.repeat(20)}deep.js`)).toBe('fix (unproven): heal the incident');
  });
});
