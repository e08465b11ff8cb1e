import { foldEvents, patchIdSchema, serviceNameSchema, type EventData, type IncidentId, type RecordedEvent } from '@antibody/contracts';
import { DEFAULT_JUDGE_CONFIG, serviceFold, type JudgeConfig, type JudgeEvent, type ServiceState } from '@antibody/domain';
import { deciderSpec, testStream } from '@antibody/testing';
import { incidentAt, incidentFoldJudgedBy } from './incident';
import { decideRecordRollout, type RecordRolloutCommand } from './record-rollout';
import { decidePersonDecision, decideRollOut, decideRolloutStarted } from './start-rollout';

const INCIDENT = '7c2a3b4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d' as IncidentId;
const SHOP = serviceNameSchema.parse('shop');
const P = patchIdSchema.parse('dddddddd-dddd-4ddd-8ddd-dddddddddddd');
const Q = patchIdSchema.parse('eeeeeeee-eeee-4eee-8eee-eeeeeeeeeeee');
const SHA = 'abcdef1234567890abcd';
const judge: JudgeConfig = { ...DEFAULT_JUDGE_CONFIG, stages: [1, 5, 25, 100], minDwellMs: 1000 };
const fold = incidentFoldJudgedBy(judge);
const zero = { requests: 0, errors: 0, slow: 0 };

function service({ autoDeploy = true, adapter = 'webhook' as 'webhook' | 'none', deregistered = false } = {}): ServiceState {
  const s = testStream('service-shop');
  const events: RecordedEvent[] = [
    s.event('ServiceRegistered', {
      name: SHOP,
      repository: { url: '/src/shop', defaultBranch: 'main' },
      commands: { test: 'npm test' },
      language: 'javascript',
      deploy: { adapter, settings: {} },
      policy: { autoDeploy, allowedPaths: ['src/**'], forbiddenPaths: [], budgets: { perIncidentUsd: 1, dailyUsd: 10, monthlyUsd: 100 } },
    }),
  ];
  if (deregistered) events.push(s.event('ServiceDeregistered', { name: SHOP }));
  return foldEvents(serviceFold, events);
}

/** An incident whose patch P was validated and committed. */
function committed() {
  const s = testStream(`incident-${INCIDENT}`);
  const exception = { type: 'TypeError', value: 'x is undefined' };
  const given: RecordedEvent[] = [
    s.event('IncidentOpened', { incidentId: INCIDENT, service: SHOP, fingerprint: 'f', exception, firstSeen: '2026-01-01T00:00:00.000Z', release: 'shop@1' }),
    s.event('ErrorRecorded', { exception, frames: [], tags: {}, receivedAt: '2026-01-01T00:00:00.000Z' }),
    s.event('PatchProposed', { patchId: P, diff: 'd', files: ['src/a.js'], rationale: 'guard', source: 'template', templateId: 't', rank: 1, confidence: 0.8 }),
    s.event('PatchValidated', { patchId: P, tests: [{ name: 't', status: 'passed' }], reproduction: { status: 'reproduced' } } as EventData<'PatchValidated'>),
  ];
  const fix = s.event('FixCommitted', { patchId: P, branch: `antibody/${INCIDENT}`, commitSha: SHA });
  const started = () => s.event('RolloutStarted', { patchId: P, release: `shop@${SHA.slice(0, 12)}`, stages: [...judge.stages], at: '2026-01-01T00:01:00.000Z', baseline: { canary: zero, stable: zero } });
  return { s, given: [...given, fix], fix, started };
}

describe('rolling a committed fix out', () => {
  const spec = deciderSpec({ fold, decide: ({ fix, service: svc }: { fix: RecordedEvent<'FixCommitted'>; service?: ServiceState }, state) => decideRollOut({ fixCommitted: fix }, state, svc ? { service: svc } : {}) });

  it('given an auto-deploy policy, when the fix is committed, then its canary is started as <service>@<commit>', () => {
    const { given, fix } = committed();
    spec.given(given).when({ fix }).then({ kind: 'read-service', service: SHOP });
    spec.given(given).when({ fix, service: service() }).thenMatches({ kind: 'start-rollout', patchId: P, release: 'shop@abcdef123456', incidentId: INCIDENT });
  });

  it('given a propose-only policy (or no deploy adapter), then the fix is proposed to a person', () => {
    const { given, fix } = committed();
    spec.given(given).when({ fix, service: service({ autoDeploy: false }) }).then({ kind: 'propose', service: SHOP, incidentId: INCIDENT, branch: `antibody/${INCIDENT}`, passed: 1 });
    spec.given(given).when({ fix, service: service({ adapter: 'none' }) }).thenMatches({ kind: 'propose' });
  });

  it('given an unproven fix committed as a pull request, then it is proposed to a person even under an auto-deploy policy', () => {
    const { s, given } = committed();
    const unprovenGiven = given.slice(0, 3).concat(s.event('PatchUnproven', { patchId: P, reason: 'no captured call', tests: [], reproduction: { status: 'skipped' } }));
    const fix = s.event('FixCommitted', { patchId: P, branch: `antibody/${INCIDENT}`, commitSha: SHA });
    spec.given([...unprovenGiven, fix]).when({ fix, service: service() }).thenMatches({ kind: 'propose', incidentId: INCIDENT });
  });

  it("given a deregistered service, then its fix is not rolled out", () => {
    const { given, fix } = committed();
    spec.given(given).when({ fix, service: service({ deregistered: true }) }).then({ kind: 'ignore', because: 'service shop was deregistered: it is no longer under care' });
  });

  it('given the round moved on (a rollout started, or an escalation), then nothing is started again', () => {
    const { s, given, fix, started } = committed();
    spec.given([...given, started()]).when({ fix, service: service() }).thenMatches({ kind: 'ignore', because: expect.stringContaining('already has a rollout') });
    spec.given([...given, s.event('IncidentEscalated', { reason: 'r', step: 'rollout' })]).when({ fix, service: service() }).then({ kind: 'ignore', because: 'the incident was escalated' });
  });

  it('given the canary started, then RolloutStarted is recorded once; a canary that failed to start escalates', () => {
    const { given, started } = committed();
    const request = { kind: 'start-rollout' as const, service: SHOP, incidentId: INCIDENT, patchId: P, release: 'shop@abcdef123456', deploy: { adapter: 'webhook' as const, settings: {} } };
    const data = started().data;
    expect(decideRolloutStarted(request, { kind: 'started', data }, foldEvents(fold, given))).toEqual({ kind: 'append', events: [{ type: 'RolloutStarted', data }] });
    const { given: again, started: startedAgain } = committed();
    expect(decideRolloutStarted(request, { kind: 'started', data }, foldEvents(fold, [...again, startedAgain()]))).toMatchObject({ kind: 'ignore' });
    expect(decideRolloutStarted(request, { kind: 'failed', reason: 'webhook answered 500' }, foldEvents(fold, given))).toEqual({
      kind: 'append',
      events: [{ type: 'IncidentEscalated', data: { reason: 'the rollout of shop@abcdef123456 could not start: webhook answered 500', step: 'rollout' } }],
    });
  });
});

describe("a person's decision on the rollout", () => {
  const decide = ({ decision, service: svc }: { decision: RecordedEvent<'DecisionRecorded'>; service?: ServiceState }, events: readonly RecordedEvent[]) =>
    decidePersonDecision({ decision }, foldEvents(incidentAt(decision.streamVersion, fold), events), svc ? { service: svc } : {});

  it('given a proposed fix, when a person approves it, then it is rolled out even under a propose-only policy', () => {
    const { s, given } = committed();
    const approve = s.event('DecisionRecorded', { by: 'alice', decision: 'approve', step: 'rollout' });
    expect(decide({ decision: approve, service: service({ autoDeploy: false }) }, [...given, approve])).toMatchObject({ kind: 'start-rollout', patchId: P, release: 'shop@abcdef123456' });
  });

  it('given a proposed fix, when a person rejects it, then the incident is escalated naming them, once', () => {
    const { s, given } = committed();
    const reject = s.event('DecisionRecorded', { by: 'bob', decision: 'reject', step: 'rollout', patchId: P, comment: 'wrong layer' });
    const escalation = { type: 'IncidentEscalated' as const, data: { reason: `patch ${P} rejected by bob: wrong layer`, step: 'rollout' as const } };
    expect(decide({ decision: reject }, [...given, reject])).toEqual({ kind: 'append', events: [escalation] });
    expect(decide({ decision: reject }, [...given, reject, s.event(escalation.type, escalation.data)])).toMatchObject({ kind: 'ignore' });
  });

  it('given a running rollout, when a person rejects it, then the loop driving it rolls back (nothing here), even once it did', () => {
    const { s, given, started } = committed();
    const rollout = started();
    const reject = s.event('DecisionRecorded', { by: 'carol', decision: 'reject', step: 'rollout', patchId: P });
    const rolledBack = s.event('RolledBack', { patchId: P, reason: 'rejected by carol', stage: 1, cause: 'rejected' });
    expect(decide({ decision: reject }, [...given, rollout, reject])).toMatchObject({ kind: 'ignore' });
    expect(decide({ decision: reject }, [...given, rollout, reject, rolledBack])).toMatchObject({ kind: 'ignore' });
  });

  it('given an approval of a service without a deploy adapter, or of no committed fix, then escalated', () => {
    const { s, given } = committed();
    const approve = s.event('DecisionRecorded', { by: 'alice', decision: 'approve', step: 'rollout' });
    expect(decide({ decision: approve, service: service({ adapter: 'none' }) }, [...given, approve])).toMatchObject({ kind: 'append', events: [{ type: 'IncidentEscalated', data: { reason: expect.stringContaining('has no deploy adapter') } }] });
    const other = s.event('DecisionRecorded', { by: 'alice', decision: 'approve', step: 'rollout', patchId: Q });
    expect(decide({ decision: other }, [...given, other])).toMatchObject({ kind: 'append', events: [{ type: 'IncidentEscalated', data: { reason: expect.stringContaining('no committed fix') } }] });
  });
});

describe('what a judged rollout records, and what follows a rollback', () => {
  const evidence = { stage: 5, stageElapsedMs: 1000, canary: { requests: 100, errors: 30, slow: 0 }, stable: { requests: 900, errors: 9, slow: 0 }, errorRate: { baseline: 0.01, canary: 0.3 }, logEValue: { errors: 5, latency: 0, combined: 5 }, logThreshold: 4.6, srmZ: 0 };
  const judgeRollback = (cause: 'error-regression' | 'rejected' | 'aborted'): JudgeEvent => ({ type: 'RolledBack', at: Date.parse('2026-01-01T00:02:00.000Z'), stage: 5, cause, reason: cause === 'rejected' ? 'rejected by carol' : 'errors went up', evidence, trace: [evidence] });
  const spec = deciderSpec({ fold, decide: (command: RecordRolloutCommand, state) => decideRecordRollout(command, state) });
  const command = (events: JudgeEvent[]): RecordRolloutCommand => ({ patchId: P, release: 'shop@abcdef123456', events });

  it('given an earlier rollback of Q, when the judge rolls P back, then DiagnosisRequested excludes every rolled-back patch', () => {
    const { s, given, started } = committed();
    const earlier = [
      s.event('PatchProposed', { patchId: Q, diff: 'q', files: ['src/a.js'], rationale: 'q', source: 'template', templateId: 't', rank: 1, confidence: 0.5 }),
      s.event('RolledBack', { patchId: Q, reason: 'errors', stage: 1, cause: 'error-regression' }),
    ];
    spec.given([...earlier, ...given, started()]).when(command([judgeRollback('error-regression')])).thenMatches({
      kind: 'append',
      events: [
        { type: 'RolledBack', data: { patchId: P, cause: 'error-regression', stage: 5 } },
        { type: 'DiagnosisRequested', data: { step: 'rollout', excludePatchIds: [P, Q], release: 'shop@abcdef123456', reason: `patch ${P} was rolled back at 5%: errors went up (error-regression)` } },
      ],
    });
  });

  it("given a person's rejection mid-rollout, then rolled back and escalated", () => {
    const { s, given, started } = committed();
    const reject = s.event('DecisionRecorded', { by: 'carol', decision: 'reject', step: 'rollout', patchId: P });
    spec.given([...given, started(), reject]).when(command([judgeRollback('rejected')])).thenMatches({
      kind: 'append',
      events: [
        { type: 'RolledBack', data: { patchId: P, cause: 'rejected' } },
        { type: 'IncidentEscalated', data: { step: 'rollout', reason: 'rollout of shop@abcdef123456 stopped at 5%: rejected by carol' } },
      ],
    });
  });

  it('given a promotion to 100 %, then the rollout is completed and the incident resolved', () => {
    const { given, started } = committed();
    const done: JudgeEvent = { type: 'RolloutCompleted', at: Date.parse('2026-01-01T00:03:00.000Z'), evidence, trace: [evidence] };
    const decision = spec.given([...given, started()]).when(command([done])).decision();
    expect(decision.kind === 'append' && decision.events.map((e) => e.type)).toEqual(['RolloutCompleted', 'IncidentResolved']);
  });

  it('given the rollback already recorded, then nothing is recorded twice', () => {
    const { s, given, started } = committed();
    const rolledBack = s.event('RolledBack', { patchId: P, reason: 'errors went up', stage: 5, cause: 'error-regression' });
    spec.given([...given, started(), rolledBack]).when(command([judgeRollback('error-regression')])).thenMatches({ kind: 'ignore' });
  });
});

describe("the deployer's reading of a rollout", () => {
  it('given a RolloutStarted that did not record its judge settings, then the configured judge judges it; recorded settings win', () => {
    const { s, given } = committed();
    const bare = s.event('RolloutStarted', { patchId: P, release: 'shop@abc', stages: [5, 100], at: '2026-01-01T00:01:00.000Z', baseline: { canary: zero, stable: zero } });
    expect(foldEvents(fold, [...given, bare]).rollout).toMatchObject({ status: 'running', judge: { ...judge, stages: [5, 100] } });
    const { stages: _stages, ...recorded } = { ...judge, minDwellMs: 42 };
    const { s: s2, given: given2 } = committed();
    const withSettings = s2.event('RolloutStarted', { patchId: P, release: 'shop@abc', stages: [5, 100], at: '2026-01-01T00:01:00.000Z', baseline: { canary: zero, stable: zero }, judge: recorded });
    expect(foldEvents(fold, [...given2, withSettings]).rollout).toMatchObject({ judge: { minDwellMs: 42 } });
    expect(s.streamId).toBe(s2.streamId);
  });
});
