// A rollout rebuilt from the incident stream: which patch, which release, how far it got, and the
// judge's state, so that a rollout survives a deployer restart. Pure: events in, a view out.
import { DEFAULT_JUDGE_CONFIG, initialJudgeState, type CountsSnapshot, type Evidence, type JudgeConfig, type JudgeState } from '@antibody/domain';

/** An incident event as read from the store (only type and data matter here). */
export interface HistoryEvent {
  readonly type: string;
  readonly data: unknown;
}

/** The evidence as the contract records it (`canaryEvidence` of libs/contracts). */
export interface RecordedEvidence {
  readonly errorRate: { readonly baseline: number; readonly canary: number };
  readonly stage?: number;
  readonly stageElapsedMs?: number;
  readonly counts?: CountsSnapshot;
  readonly logEValue?: { readonly errors: number; readonly latency: number; readonly combined: number };
  readonly logThreshold?: number;
  readonly srmZ?: number;
}

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
  | { readonly status: 'rolled-back' | 'completed'; readonly patchId: string; readonly release: string }
  /** Started by a deployer that did not record the judge's starting point: it cannot be judged further. */
  | { readonly status: 'unresumable'; readonly patchId: string; readonly release: string; readonly judge: JudgeConfig; readonly reason: string };

const ZERO = { requests: 0, errors: 0, slow: 0 };

/** Maps the judge's evidence onto the contract's `canaryEvidence` (what StageAdvanced and RolledBack record). */
export function contractEvidence(e: Evidence): RecordedEvidence & Required<Pick<RecordedEvidence, 'counts' | 'logEValue'>> {
  return { errorRate: e.errorRate, stage: e.stage, stageElapsedMs: Math.max(0, Math.round(e.stageElapsedMs)), counts: { canary: e.canary, stable: e.stable }, logEValue: e.logEValue, logThreshold: e.logThreshold, srmZ: e.srmZ };
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
  };
}

/**
 * The latest rollout of an incident, or undefined when none started. The judge state is rebuilt
 * from what RolloutStarted and StageAdvanced recorded: the stage, its start time and cumulative
 * counts (`at`, `baseline` / `snapshot`), and the e-values frozen at each stage change. A
 * RolloutStarted without `at`/`baseline` (written before they were recorded) is `unresumable`.
 * `fallbackJudge` is used when the rollout did not record its judge settings.
 */
export function rolloutFromHistory(events: readonly HistoryEvent[], fallbackJudge: JudgeConfig = DEFAULT_JUDGE_CONFIG): RolloutView | undefined {
  let startIndex = -1;
  events.forEach((e, i) => {
    if (e.type === 'RolloutStarted') startIndex = i;
  });
  if (startIndex < 0) return undefined;
  const started = events[startIndex]?.data as {
    patchId: string;
    release: string;
    stages: number[];
    at?: string;
    baseline?: CountsSnapshot;
    judge?: Omit<JudgeConfig, 'stages'>;
  };
  const judge: JudgeConfig = { ...fallbackJudge, ...(started.judge ?? {}), stages: started.stages };
  const { patchId, release } = started;
  if (started.at === undefined || started.baseline === undefined) {
    return { status: 'unresumable', patchId, release, judge, reason: 'the rollout did not record its starting counts' };
  }
  const logThreshold = Math.log(1 / judge.alpha);
  let state: JudgeState = { ...initialJudgeState(), status: 'running', stageStartedAt: Date.parse(started.at), stageBaseline: started.baseline };
  let rejection: { by: string; comment?: string } | undefined;
  for (const e of events.slice(startIndex + 1)) {
    const data = e.data as Record<string, unknown>;
    if (e.type === 'RolledBack' && data.patchId === patchId) return { status: 'rolled-back', patchId, release };
    if (e.type === 'RolloutCompleted' && data.patchId === patchId) return { status: 'completed', patchId, release };
    if (e.type === 'DecisionRecorded' && data.decision === 'reject' && (data.patchId === undefined || data.patchId === patchId)) {
      rejection = { by: String(data.by), ...(typeof data.comment === 'string' ? { comment: data.comment } : {}) };
    }
    if (e.type === 'StageAdvanced' && data.patchId === patchId) {
      const to = data.stage as number;
      const index = judge.stages.indexOf(to);
      const evidence = evidenceFromRecord(data.evidence as RecordedEvidence, judge.stages[Math.max(0, index - 1)] as number, logThreshold);
      if (index < 0 || data.at === undefined || data.snapshot === undefined) {
        return { status: 'unresumable', patchId, release, judge, reason: `stage ${to}% was recorded without its starting counts` };
      }
      state = {
        ...state,
        stageIndex: index,
        stageStartedAt: Date.parse(data.at as string),
        stageBaseline: data.snapshot as CountsSnapshot,
        closedLogE: { errors: evidence.logEValue.errors, latency: evidence.logEValue.latency },
        trace: [...state.trace, evidence],
      };
    }
  }
  return { status: 'running', patchId, release, judge, state, ...(rejection ? { rejection } : {}) };
}
