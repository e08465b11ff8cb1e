// The latest rollout of an incident as the judge sees it, rebuilt from the incident stream with the
// judge's own `evolve`, so that a rollout survives a deployer restart and is judged by the same
// rules. The contract's events are mapped back onto the judge's events: RolloutStarted records
// the judge's clock and counts when the first stage started (`at`, `baseline`), StageAdvanced the
// same for each later stage, with the e-values frozen at the change.
import type { EventData, RecordedEvent } from '@antibody/contracts';
import { DEFAULT_JUDGE_CONFIG, evolve as evolveJudge, initialJudgeState, type CountsSnapshot, type Evidence, type JudgeConfig, type JudgeState } from './judge';

/** The evidence as the contract records it (`canaryEvidence` of StageAdvanced, RolledBack, RolloutCompleted). */
export type RecordedEvidence = EventData<'StageAdvanced'>['evidence'];

/** What the incident stream says about its latest rollout. */
export type RolloutView =
  | {
      readonly status: 'running';
      readonly patchId: string;
      readonly release: string;
      readonly judge: JudgeConfig;
      /** The judge's state, ready for the next observation. */
      readonly state: JudgeState;
      /** A person rejected this patch after the rollout started: it must be rolled back. */
      readonly rejection?: { readonly by: string; readonly comment?: string };
    }
  | { readonly status: 'rolled-back' | 'completed'; readonly patchId: string; readonly release: string; readonly judge: JudgeConfig }
  /** Started by a deployer that did not record the judge's starting point: it cannot be judged further. */
  | { readonly status: 'unresumable'; readonly patchId: string; readonly release: string; readonly judge: JudgeConfig; readonly reason: string };

const ZERO = { requests: 0, errors: 0, slow: 0 };

/** Maps the judge's evidence onto the contract's `canaryEvidence`. */
export function contractEvidence(e: Evidence): RecordedEvidence & Required<Pick<RecordedEvidence, 'counts' | 'logEValue'>> {
  return {
    errorRate: e.errorRate,
    stage: e.stage,
    stageElapsedMs: Math.max(0, Math.round(e.stageElapsedMs)),
    counts: { canary: e.canary, stable: e.stable },
    logEValue: e.logEValue,
    logThreshold: e.logThreshold,
    srmZ: e.srmZ,
    ...(e.worseBy ? { worseBy: e.worseBy } : {}),
  };
}

/** Maps recorded evidence back onto the judge's Evidence (missing optional parts read as zero). */
export function evidenceFromRecord(e: RecordedEvidence, fallbackStage: number, logThreshold: number): Evidence {
  return {
    stage: e.stage ?? fallbackStage,
    stageElapsedMs: e.stageElapsedMs ?? 0,
    canary: e.counts?.canary ?? ZERO,
    stable: e.counts?.stable ?? ZERO,
    errorRate: e.errorRate,
    logEValue: e.logEValue ?? { errors: 0, latency: 0, combined: 0 },
    logThreshold: e.logThreshold ?? logThreshold,
    srmZ: e.srmZ ?? 0,
    ...(e.worseBy ? { worseBy: e.worseBy } : {}),
  };
}

/**
 * The rollout a RolloutStarted begins. `fallbackJudge` supplies settings the event did not record.
 * A RolloutStarted without `at`/`baseline` (written before they were recorded) is `unresumable`.
 */
export function rolloutStartedIn(event: RecordedEvent<'RolloutStarted'>, fallbackJudge: JudgeConfig = DEFAULT_JUDGE_CONFIG): RolloutView {
  const { patchId, release, stages, at, baseline } = event.data;
  const judge: JudgeConfig = { ...fallbackJudge, ...(event.data.judge ?? {}), stages };
  if (at === undefined || baseline === undefined) return { status: 'unresumable', patchId, release, judge, reason: 'the rollout did not record its starting counts' };
  const state = evolveJudge(initialJudgeState(), { type: 'RolloutStarted', at: Date.parse(at), stages, snapshot: baseline });
  return { status: 'running', patchId, release, judge, state };
}

/** The rollout after one more event of the incident stream; events about another patch or after the end change nothing. */
export function rolloutEvolve(view: RolloutView, event: RecordedEvent): RolloutView {
  if (view.status !== 'running') return view;
  const { patchId, release, judge } = view;
  switch (event.type) {
    case 'RolledBack':
      return event.data.patchId === patchId ? { status: 'rolled-back', patchId, release, judge } : view;
    case 'RolloutCompleted':
      return event.data.patchId === patchId ? { status: 'completed', patchId, release, judge } : view;
    case 'DecisionRecorded': {
      const { decision, by, comment } = event.data;
      if (decision !== 'reject' || (event.data.patchId !== undefined && event.data.patchId !== patchId)) return view;
      return { ...view, rejection: { by, ...(comment !== undefined ? { comment } : {}) } };
    }
    case 'StageAdvanced': {
      if (event.data.patchId !== patchId) return view;
      const to = event.data.stage;
      const index = judge.stages.indexOf(to);
      const from = judge.stages[Math.max(0, index - 1)] as number;
      if (index < 0 || event.data.at === undefined || event.data.snapshot === undefined) {
        return { status: 'unresumable', patchId, release, judge, reason: `stage ${to}% was recorded without its starting counts` };
      }
      const evidence = evidenceFromRecord(event.data.evidence, from, Math.log(1 / judge.alpha));
      const snapshot: CountsSnapshot = event.data.snapshot;
      const state = evolveJudge({ ...view.state, stageIndex: index - 1 }, { type: 'StageAdvanced', at: Date.parse(event.data.at), from, to, snapshot, evidence });
      return { ...view, state };
    }
    default:
      return view;
  }
}
