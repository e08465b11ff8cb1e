import { decideJudgement as decide, evolveJudgement as evolve, initialJudgeState, DEFAULT_JUDGE_CONFIG, type CountsSnapshot, type JudgeConfig, type JudgeEvent, type JudgeState } from '@antibody/domain';
import { contractEvidence, rolloutFromHistory, type HistoryEvent } from './rollout-history';

const config: JudgeConfig = { ...DEFAULT_JUDGE_CONFIG, stages: [1, 5, 25, 100], minDwellMs: 1000, minCanaryRequests: 20, stageDeadlineMs: 60_000 };
const T0 = Date.parse('2026-03-02T10:00:00.000Z');
const PATCH = '7a2e4c61-5d3b-4f80-b9c2-1e6a8d4f2b57';

/** Cumulative counts after `n` observations of 1,000 requests split by `percent`, 1 % errors each. */
function snapshotAt(canary: number, stable: number, canaryErrors = Math.floor(canary / 100)): CountsSnapshot {
  return { canary: { requests: canary, errors: canaryErrors, slow: 0 }, stable: { requests: stable, errors: Math.floor(stable / 100), slow: Math.floor(stable / 20) } };
}

/** What the deployer records for the judge's events (as RolloutManager does). */
function recorded(events: readonly JudgeEvent[]): HistoryEvent[] {
  return events.map((e): HistoryEvent => {
    const { stages: _stages, ...judge } = config;
    switch (e.type) {
      case 'RolloutStarted':
        return { type: 'RolloutStarted', data: { patchId: PATCH, release: 'shop@abc', stages: [...config.stages], at: new Date(e.at).toISOString(), baseline: e.snapshot, judge } };
      case 'StageAdvanced':
        return { type: 'StageAdvanced', data: { patchId: PATCH, stage: e.to, evidence: contractEvidence(e.evidence), at: new Date(e.at).toISOString(), snapshot: e.snapshot } };
      case 'RolledBack':
        return { type: 'RolledBack', data: { patchId: PATCH, reason: e.reason, stage: e.stage, cause: e.cause } };
      case 'RolloutCompleted':
        return { type: 'RolloutCompleted', data: { patchId: PATCH, release: 'shop@abc' } };
    }
  });
}

/** Runs the judge live for `steps` observations; returns its events and state. */
function live(steps: number, canaryErrorRate = 0.01) {
  let state: JudgeState = initialJudgeState();
  const events: JudgeEvent[] = [];
  const apply = (es: JudgeEvent[]) => es.forEach((e) => ((state = evolve(state, e)), events.push(e)));
  let canary = 0;
  let stable = 0;
  apply(decide({ type: 'Start', at: T0, snapshot: snapshotAt(0, 0) }, state, config));
  for (let i = 1; i <= steps && state.status === 'running'; i++) {
    const share = (config.stages[state.stageIndex] as number) / 100;
    canary += Math.round(1000 * share);
    stable += 1000 - Math.round(1000 * share);
    apply(decide({ type: 'Observe', at: T0 + i * 500, snapshot: snapshotAt(canary, stable, Math.floor(canary * canaryErrorRate)) }, state, config));
  }
  return { state, events, next: (i: number) => T0 + i * 500 };
}

describe('a rollout rebuilt from its recorded events', () => {
  it('given a rollout in its third stage, when rebuilt, then the judge state is the live one', () => {
    const run = live(5);
    expect(run.state.status).toBe('running');
    expect(run.state.stageIndex).toBeGreaterThanOrEqual(2);
    const view = rolloutFromHistory(recorded(run.events), DEFAULT_JUDGE_CONFIG);
    if (view?.status !== 'running') throw new Error(`expected running, got ${view?.status}`);
    expect(view.judge).toEqual(config);
    expect(view.state).toEqual(run.state);
  });

  it('given the rebuilt state, when the same counts arrive, then the judge decides as it would have without a restart', () => {
    const run = live(5);
    const view = rolloutFromHistory(recorded(run.events));
    if (view?.status !== 'running') throw new Error('expected running');
    const snapshot = snapshotAt(250_000, 750_000, 50_000); // a bad canary from here on
    const command = { type: 'Observe' as const, at: run.next(6), snapshot };
    expect(decide(command, view.state, view.judge)).toEqual(decide(command, run.state, config));
    expect(decide(command, view.state, view.judge)[0]?.type).toBe('RolledBack');
  });

  it('given a finished rollout, when rebuilt, then it is not resumed', () => {
    const done = live(50);
    expect(done.state.status).toBe('completed');
    expect(rolloutFromHistory(recorded(done.events))?.status).toBe('completed');
    const bad = live(50, 0.3);
    expect(bad.state.status).toBe('rolled-back');
    expect(rolloutFromHistory(recorded(bad.events))?.status).toBe('rolled-back');
  });

  it('given a rejection after the start, then the view carries it; given no rollout, then there is none', () => {
    const run = live(2);
    const history = [...recorded(run.events), { type: 'DecisionRecorded', data: { by: 'bob', decision: 'reject', step: 'rollout', patchId: PATCH, comment: 'no' } }];
    expect(rolloutFromHistory(history)).toMatchObject({ status: 'running', rejection: { by: 'bob', comment: 'no' } });
    expect(rolloutFromHistory([{ type: 'FixCommitted', data: { patchId: PATCH } }])).toBeUndefined();
  });

  it('given a RolloutStarted without its starting counts (older deployer), then it is unresumable', () => {
    const view = rolloutFromHistory([{ type: 'RolloutStarted', data: { patchId: PATCH, release: 'shop@abc', stages: [5, 100] } }]);
    expect(view).toMatchObject({ status: 'unresumable', reason: expect.stringContaining('starting counts') });
  });
});
