// Drives one rollout: the pure judge decides, the adapter acts, the sink records. Used by the
// deployer service (sink = the incident stream) and directly by the fleet end-to-end test.
import { decideJudgement, evolveJudgement, initialJudgeState, type JudgeConfig, type JudgeEvent, type JudgeState } from '@antibody/domain';
import type { DeployAdapter } from './deploy-adapter';

/** Why a rollout must stop before the judge says so. */
export interface StopRequest {
  readonly reason: string;
  readonly cause: 'aborted' | 'rejected';
}

export interface RolloutRunnerOptions {
  readonly adapter: DeployAdapter;
  readonly judge: JudgeConfig;
  readonly release: string;
  /** How often counts are read and judged. */
  readonly observeEveryMs: number;
  /** Called with every judge event after the adapter acted on it (unless `onEvents` is given). */
  readonly onEvent?: (event: JudgeEvent) => Promise<void> | void;
  /**
   * Called with the events of one decision together, after the adapter acted on all of them (a
   * promotion to 100 % and the completion are one batch, so the deployer appends them atomically).
   */
  readonly onEvents?: (events: readonly JudgeEvent[]) => Promise<void> | void;
  /** Resume a rollout whose state was rebuilt from its recorded events (no startCanary, no Start). */
  readonly resume?: JudgeState;
  /**
   * Asked before every observation; a request rolls the canary back (e.g. a person rejected it),
   * `wait` skips this observation (e.g. the start is not recorded yet).
   */
  readonly checkStop?: () => Promise<StopRequest | 'wait' | undefined>;
  readonly now?: () => number;
  /** Aborting it rolls the canary back (cause `aborted`). */
  readonly signal?: AbortSignal;
  /**
   * Aborting it leaves the loop at once *without* touching the traffic (deployer shutdown): the
   * rollout stays at its recorded stage and is resumed from the events by the next instance.
   */
  readonly halt?: AbortSignal;
}

function sleep(ms: number, halt?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      halt?.removeEventListener('abort', done);
      resolve();
    }
    halt?.addEventListener('abort', done, { once: true });
  });
}

/**
 * Runs the rollout to its end (or until `halt`) and returns the judge state. Order of effects: the
 * adapter acts first (traffic moved, or rolled back), then the events are recorded, so a recorded
 * StageAdvanced is always true of the traffic. An adapter failure during the rollout rolls back
 * (cause `aborted`); the error is rethrown only when the rollback itself fails.
 */
export async function runRollout(options: RolloutRunnerOptions): Promise<JudgeState> {
  const now = options.now ?? Date.now;
  const { adapter, judge } = options;
  let state: JudgeState = options.resume ?? initialJudgeState();
  const apply = async (events: JudgeEvent[]) => {
    for (const event of events) {
      if (event.type === 'StageAdvanced') await adapter.setStage(event.to);
      if (event.type === 'RolledBack') await adapter.rollback(event.reason);
      state = evolveJudgement(state, event);
    }
    if (events.length === 0) return;
    if (options.onEvents) await options.onEvents(events);
    else for (const event of events) await options.onEvent?.(event);
  };
  if (options.resume) {
    const last = judge.stages.length - 1;
    if (state.status === 'running' && state.stageIndex >= last) {
      // Promoted to 100 % but not recorded as completed: nothing is left to judge.
      const evidence = state.trace[state.trace.length - 1];
      if (evidence) await apply([{ type: 'RolloutCompleted', at: now(), evidence, trace: state.trace }]);
      return state;
    }
    // Re-assert the recorded stage: the traffic may have moved after the last recorded event.
    if (state.status === 'running') await adapter.setStage(judge.stages[state.stageIndex] as number);
  } else {
    await adapter.startCanary(options.release);
    const start = decideJudgement({ type: 'Start', at: now(), snapshot: await adapter.readCounts() }, state, judge);
    await adapter.setStage(judge.stages[0] as number);
    await apply(start);
  }
  while (state.status === 'running') {
    await sleep(options.observeEveryMs, options.halt);
    if (options.halt?.aborted) break;
    try {
      const stop = options.signal?.aborted ? { reason: 'the deployer was asked to stop this rollout', cause: 'aborted' as const } : await options.checkStop?.();
      if (stop === 'wait') continue;
      if (stop) {
        await apply(decideJudgement({ type: 'Abort', at: now(), snapshot: await adapter.readCounts().catch(() => state.stageBaseline), reason: stop.reason, cause: stop.cause }, state, judge));
        break;
      }
      await apply(decideJudgement({ type: 'Observe', at: now(), snapshot: await adapter.readCounts() }, state, judge));
    } catch (error) {
      if (state.status !== 'running') throw error;
      // Counts unreadable: judge the abort on the stage's starting counts (an empty stage).
      const snapshot = await adapter.readCounts().catch(() => state.stageBaseline);
      await apply(decideJudgement({ type: 'Abort', at: now(), snapshot, reason: `adapter failure: ${(error as Error).message}` }, state, judge));
    }
  }
  return state;
}
