import { foldEvents, patchIdSchema, type EventData, type IncidentId, type PatchId, type RecordedEvent, type ServiceName } from '@antibody/contracts';
import { testStream, type TestStream } from '@antibody/testing';
import { chosenFix, currentRound, failedFixes, incidentFold, rejectedFixes, type IncidentState } from './incident';
import { contractEvidence } from './rollout';
import { decide as decideJudgement, evolve as evolveJudgement, DEFAULT_JUDGE_CONFIG, initialJudgeState, type CountsSnapshot, type JudgeConfig, type JudgeEvent, type JudgeState } from './judge';

const INCIDENT = '3f1d2c6b-8a4f-4c55-9d0e-5f0b3f5e4c6a' as IncidentId;
const P1 = patchIdSchema.parse('11111111-1111-4111-8111-111111111111');
const P2 = patchIdSchema.parse('22222222-2222-4222-8222-222222222222');
const P3 = patchIdSchema.parse('33333333-3333-4333-8333-333333333333');

const fold = (events: readonly RecordedEvent[]): IncidentState => foldEvents(incidentFold, events);

function incident(): { s: TestStream; opened: RecordedEvent<'IncidentOpened'>; sample: RecordedEvent<'ErrorRecorded'> } {
  const s = testStream(`incident-${INCIDENT}`);
  const exception = { type: 'TypeError', value: "Cannot read properties of undefined (reading 'street')" };
  const opened = s.event('IncidentOpened', { incidentId: INCIDENT, service: 'shop' as ServiceName, fingerprint: 'f', exception, release: 'shop@1', firstSeen: '2026-01-01T00:00:00.000Z' });
  const sample = s.event('ErrorRecorded', { exception, frames: [], tags: {}, release: 'shop@1', receivedAt: '2026-01-01T00:00:00.000Z' });
  return { s, opened, sample };
}

const diagnosis: EventData<'DiagnosisMade'> = { rootCause: 'address may be missing', location: { file: 'src/a.ts', line: 3 }, source: 'rule', ruleId: 'r', confidence: 0.9 };
const proposal = (patchId: PatchId, rank: number, diff = `diff ${rank}`): EventData<'PatchProposed'> => ({ patchId, diff, files: ['src/a.ts'], rationale: 'guard', source: 'template', templateId: 't', rank, confidence: 0.8, baseCommit: 'abc1234' });
const validated = (patchId: PatchId): EventData<'PatchValidated'> => ({ patchId, tests: [], reproduction: { status: 'reproduced' } as EventData<'PatchValidated'>['reproduction'] });
const rejected = (patchId: PatchId, stage: EventData<'PatchRejected'>['stage'] = 'tests'): EventData<'PatchRejected'> => ({ patchId, reason: 'a test failed', failingTests: ['t1'], stage });

describe('the incident fold', () => {
  it('given the first sample, then round 0 starts from it and the incident waits for diagnosis', () => {
    const { opened, sample, s } = incident();
    const state = fold([opened, sample, s.event('ErrorRecorded', { ...sample.data })]);
    expect(state).toMatchObject({ status: 'diagnosing', samples: 2, release: 'shop@1', opened: opened.data });
    expect(state.firstSample?.eventId).toBe(sample.eventId);
    expect(state.rounds).toHaveLength(1);
    expect(currentRound(state)?.trigger.eventId).toBe(sample.eventId);
  });

  it('given the incident was reopened, then the first sample since is the one its rounds diagnose (openSample); the first sample ever stays firstSample', () => {
    const { opened, sample, s } = incident();
    const later = s.event('ErrorRecorded', { ...sample.data });
    expect(fold([opened, sample, later]).openSample?.eventId).toBe(sample.eventId);
    const reopened = s.event('IncidentReopened', { reason: 'seen again' } as EventData<'IncidentReopened'>);
    expect(fold([opened, sample, later, reopened]).openSample).toBeUndefined();
    const next = s.event('ErrorRecorded', { ...sample.data });
    const state = fold([opened, sample, later, reopened, next, s.event('ErrorRecorded', { ...sample.data })]);
    expect(state.openSample?.eventId).toBe(next.eventId);
    expect(state.firstSample?.eventId).toBe(sample.eventId);
  });

  it('given candidates judged in any order, then the best-ranked validated one is chosen once every better one is rejected, settled by exactly one verdict', () => {
    const { opened, sample, s } = incident();
    const before = [opened, sample, s.event('DiagnosisMade', diagnosis), s.event('PatchProposed', proposal(P2, 2)), s.event('PatchProposed', proposal(P1, 1)), s.event('PatchProposed', proposal(P3, 3))];
    const v2 = s.event('PatchValidated', validated(P2));
    const v3 = s.event('PatchValidated', validated(P3));
    expect(chosenFix(fold([...before, v2, v3]))).toBeUndefined(); // P1 still waits for its verdict
    const r1 = s.event('PatchRejected', rejected(P1));
    const state = fold([...before, v2, v3, r1]);
    expect(chosenFix(state)?.proposal.data.patchId).toBe(P2);
    expect(currentRound(state)?.chosen).toEqual({ patchId: P2, settledBy: r1.eventId });
    expect(state.status).toBe('fix-chosen');
  });

  it('given every candidate rejected, in any order, then exactly one verdict settles "all rejected" and no fix is chosen', () => {
    for (const order of [[P1, P2, P3], [P3, P1, P2], [P2, P3, P1]]) {
      const { opened, sample, s } = incident();
      const before = [opened, sample, s.event('DiagnosisMade', diagnosis), s.event('PatchProposed', proposal(P2, 2)), s.event('PatchProposed', proposal(P1, 1)), s.event('PatchProposed', proposal(P3, 3))];
      const verdicts = order.map((patchId) => s.event('PatchRejected', rejected(patchId)));
      const settled = verdicts.map((_, i) => currentRound(fold([...before, ...verdicts.slice(0, i + 1)]))?.noneValidated);
      expect(settled).toEqual([undefined, undefined, { settledBy: verdicts[2]?.eventId }]);
      expect(chosenFix(fold([...before, ...verdicts]))).toBeUndefined();
    }
  });

  it('given an unproven candidate ranked above a validated one, then the validated one is chosen; given only unproven and rejected ones, none is validated', () => {
    const { opened, sample, s } = incident();
    const before = [opened, sample, s.event('PatchProposed', proposal(P1, 1)), s.event('PatchProposed', proposal(P2, 2))];
    const u1 = s.event('PatchUnproven', { patchId: P1, reason: 'no captured call', tests: [], reproduction: { status: 'skipped' } });
    const v2 = s.event('PatchValidated', validated(P2));
    expect(currentRound(fold([...before, u1, v2]))?.chosen).toEqual({ patchId: P2, settledBy: v2.eventId });
    const r2 = s.event('PatchRejected', rejected(P2));
    const state = fold([...before, u1, r2]);
    expect(currentRound(state)?.noneValidated).toEqual({ settledBy: r2.eventId });
    expect(state.patches[P1]?.verdict?.type).toBe('PatchUnproven');
    expect(chosenFix(state)).toBeUndefined();
  });

  it('given one candidate validated, then the round is never "all rejected"; given no proposal, neither', () => {
    const { opened, sample, s } = incident();
    const before = [opened, sample, s.event('PatchProposed', proposal(P1, 1)), s.event('PatchProposed', proposal(P2, 2))];
    expect(currentRound(fold([...before, s.event('PatchRejected', rejected(P1)), s.event('PatchValidated', validated(P2))]))?.noneValidated).toBeUndefined();
    expect(currentRound(fold([opened, sample, s.event('PatchRejected', rejected(P1))]))?.noneValidated).toBeUndefined();
  });

  it('given a rollback of P1 and a request to diagnose again, then a new round starts and P1 is a failed fix with its change and why', () => {
    const { opened, sample, s } = incident();
    const events = [
      opened,
      sample,
      s.event('DiagnosisMade', diagnosis),
      s.event('PatchProposed', proposal(P1, 1, 'the diff of P1')),
      s.event('PatchValidated', validated(P1)),
      s.event('RolledBack', { patchId: P1, reason: 'errors went up', stage: 5, cause: 'error-regression' }),
      s.event('DiagnosisRequested', { reason: 'patch P1 was rolled back', step: 'rollout', excludePatchIds: [P1] }),
    ];
    const state = fold(events);
    expect(state.rounds).toHaveLength(2);
    expect(currentRound(state)).toMatchObject({ index: 1, rollbackRound: 1, patchIds: [] });
    expect(chosenFix(state)).toBeUndefined();
    expect(failedFixes(state)).toEqual([{ patchId: P1, diff: 'the diff of P1', files: ['src/a.ts'], outcome: 'rolled back at 5% (error-regression): errors went up' }]);
  });

  it('given rejections, then only those about the change itself rule it out', () => {
    const { opened, sample, s } = incident();
    const state = fold([
      opened,
      sample,
      s.event('PatchProposed', proposal(P1, 1, 'd1')),
      s.event('PatchProposed', proposal(P2, 2, 'd2')),
      s.event('PatchRejected', rejected(P1, 'install')),
      s.event('PatchRejected', rejected(P2, 'tests')),
    ]);
    expect(rejectedFixes(state)).toEqual([{ patchId: P2, diff: 'd2', files: ['src/a.ts'], baseCommit: 'abc1234', outcome: 'rejected by the validator at tests: a test failed' }]);
  });

  it('given an escalation, then the round ends and no fix is chosen any more; a reopening starts over', () => {
    const { opened, sample, s } = incident();
    const escalated = fold([opened, sample, s.event('PatchProposed', proposal(P1, 1)), s.event('PatchValidated', validated(P1)), s.event('IncidentEscalated', { reason: 'a person decides', step: 'rollout' })]);
    expect(escalated.status).toBe('escalated');
    expect(chosenFix(escalated)).toBeUndefined();
    expect(escalated.escalations.map((e) => e.data.reason)).toEqual(['a person decides']);
  });

  it('given an escalation and a reopening, then the incident is no longer escalated and its escalations stay in its history', () => {
    const { opened, sample, s } = incident();
    const escalation = s.event('IncidentEscalated', { reason: 'a person decides', step: 'rollout' });
    const state = fold([opened, sample, escalation, s.event('IncidentReopened', { reason: 'seen again' } as EventData<'IncidentReopened'>)]);
    expect(state.status).toBe('diagnosing');
    expect(state.escalation).toBeUndefined();
    expect(state.escalations.map((e) => e.eventId)).toEqual([escalation.eventId]);
  });

  it('counts occurrences and metered model spend', () => {
    const { opened, sample, s } = incident();
    const state = fold([
      opened,
      sample,
      s.event('OccurrencesCounted', { bucketStart: '2026-01-01T00:00:00.000Z', bucketSeconds: 60, count: 4 }),
      s.event('LlmCallMetered', { model: 'm', tier: 'small', step: 'diagnosis', promptTokens: 10, completionTokens: 5, costUsd: 0.25 }),
      s.event('LlmCallMetered', { model: 'm', tier: 'small', step: 'patch', promptTokens: 10, completionTokens: 5, costUsd: 0.5 }),
    ]);
    expect(state).toMatchObject({ occurrences: 4, spentUsd: 0.75, version: 4 });
  });
});

describe('the rollout view, rebuilt with the judge\'s own evolve', () => {
  const config: JudgeConfig = { ...DEFAULT_JUDGE_CONFIG, stages: [1, 5, 25, 100], minDwellMs: 1000, minCanaryRequests: 20, stageDeadlineMs: 60_000 };
  const T0 = Date.parse('2026-03-02T10:00:00.000Z');
  const snapshotAt = (canary: number, stable: number, canaryErrors = Math.floor(canary / 100)): CountsSnapshot => ({
    canary: { requests: canary, errors: canaryErrors, slow: 0 },
    stable: { requests: stable, errors: Math.floor(stable / 100), slow: Math.floor(stable / 20) },
  });

  /** Runs the judge live; returns its events and state. */
  function live(steps: number): { state: JudgeState; events: JudgeEvent[] } {
    let state: JudgeState = initialJudgeState();
    const events: JudgeEvent[] = [];
    const apply = (es: JudgeEvent[]) => es.forEach((e) => ((state = evolveJudgement(state, e)), events.push(e)));
    let canary = 0;
    let stable = 0;
    apply(decideJudgement({ type: 'Start', at: T0, snapshot: snapshotAt(0, 0) }, state, config));
    for (let i = 1; i <= steps && state.status === 'running'; i++) {
      const share = (config.stages[state.stageIndex] as number) / 100;
      // Enough traffic for the 1 % stage to show the canary within the margins in a step.
      canary += Math.round(100_000 * share);
      stable += 100_000 - Math.round(100_000 * share);
      apply(decideJudgement({ type: 'Observe', at: T0 + i * 500, snapshot: snapshotAt(canary, stable) }, state, config));
    }
    return { state, events };
  }

  /** The incident events the deployer records for the judge's events. */
  function recorded(s: TestStream, events: readonly JudgeEvent[]): RecordedEvent[] {
    const { stages: _stages, ...judge } = config;
    return events.map((e): RecordedEvent => {
      switch (e.type) {
        case 'RolloutStarted':
          return s.event('RolloutStarted', { patchId: P1, release: 'shop@abc', stages: [...config.stages], at: new Date(e.at).toISOString(), baseline: e.snapshot, judge });
        case 'StageAdvanced':
          return s.event('StageAdvanced', { patchId: P1, stage: e.to, evidence: contractEvidence(e.evidence), at: new Date(e.at).toISOString(), snapshot: e.snapshot });
        case 'RolledBack':
          return s.event('RolledBack', { patchId: P1, reason: e.reason, stage: e.stage, cause: e.cause });
        case 'RolloutCompleted':
          return s.event('RolloutCompleted', { patchId: P1, release: 'shop@abc' });
      }
    });
  }

  it('given a rollout in its third stage, when folded, then the judge state is the live one', () => {
    const run = live(5);
    expect(run.state.status).toBe('running');
    expect(run.state.stageIndex).toBeGreaterThanOrEqual(2);
    const { opened, sample, s } = incident();
    const state = fold([opened, sample, ...recorded(s, run.events)]);
    expect(state.status).toBe('rolling-out');
    if (state.rollout?.status !== 'running') throw new Error(`expected a running rollout, got ${state.rollout?.status}`);
    expect(state.rollout.judge).toEqual(config);
    expect(state.rollout.state).toEqual(run.state);
  });

  it('given a person rejects the patch mid-rollout, then the view carries the rejection', () => {
    const run = live(2);
    const { opened, sample, s } = incident();
    const state = fold([opened, sample, ...recorded(s, run.events), s.event('DecisionRecorded', { by: 'ana', decision: 'reject', step: 'rollout', patchId: P1, comment: 'wrong' })]);
    expect(state.rollout).toMatchObject({ status: 'running', rejection: { by: 'ana', comment: 'wrong' } });
  });

  it('given a rollout that did not record its starting counts, then it is unresumable', () => {
    const { opened, sample, s } = incident();
    const state = fold([opened, sample, s.event('RolloutStarted', { patchId: P1, release: 'shop@abc', stages: [5, 100] })]);
    expect(state.rollout).toMatchObject({ status: 'unresumable', reason: 'the rollout did not record its starting counts' });
  });
});

describe('the incident fold, as read models need it', () => {
  const by = { tokenId: '0b8f6a2e-3c1d-4e5f-9a7b-2d4c6e8f0a13', name: 'ada', role: 'operator' } as EventData<'IncidentClosed'>['by'];

  it('given the events of each step, then it keeps when the latest of each was recorded, the trace id of the first, and when the error was last seen', () => {
    const { opened, sample, s } = incident();
    const traced = { ...opened, metadata: { ...opened.metadata, traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' } };
    const counted = s.event('OccurrencesCounted', { bucketStart: '2026-01-01T00:05:00.000Z', bucketSeconds: 60, count: 4 });
    const diagnosed = s.event('DiagnosisMade', diagnosis);
    const proposed = s.event('PatchProposed', proposal(P1, 1));
    const verdict = s.event('PatchValidated', validated(P1));
    const state = fold([traced, sample, counted, diagnosed, proposed, verdict]);
    expect(state.traceId).toBe('0af7651916cd43dd8448eb211c80319c');
    expect(state.lastSeen).toBe('2026-01-01T00:05:00.000Z');
    expect(state.at).toEqual({ opened: opened.recordedAt, diagnosed: diagnosed.recordedAt, proposed: proposed.recordedAt, verdict: verdict.recordedAt, last: verdict.recordedAt });
  });

  it('given a person closed the incident, then it is closed, its round ended, and the closure names who and why', () => {
    const { opened, sample, s } = incident();
    const closed = s.event('IncidentClosed', { by, reason: 'not a bug' });
    const state = fold([opened, sample, closed]);
    expect(state).toMatchObject({ status: 'closed', closure: { by, reason: 'not a bug' }, at: { closed: closed.recordedAt } });
    expect(currentRound(state)?.ended).toBe('closed');
  });

  it('given a person declared it resolved, then the manual resolution is kept beside the IncidentResolved that follows; a reopening clears both it and a closure', () => {
    const { opened, sample, s } = incident();
    const declared = s.event('ManualResolutionRecorded', { by, reason: 'hotfix deployed' });
    const resolved = s.event('IncidentResolved', { resolution: 'manual' });
    expect(fold([opened, sample, declared, resolved])).toMatchObject({ status: 'resolved', manualResolution: { reason: 'hotfix deployed' }, resolution: { resolution: 'manual' } });
    const reopened = fold([opened, sample, declared, resolved, s.event('IncidentReopened', { reason: 'seen again' })]);
    expect(reopened.status).toBe('diagnosing');
    expect(reopened.manualResolution).toBeUndefined();
    expect(reopened.closure).toBeUndefined();
  });
});
