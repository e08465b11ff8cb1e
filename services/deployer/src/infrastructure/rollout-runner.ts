// Drives one rollout: the pure judge decides, the adapter acts, the sink records. Used by the
// deployer service (sink = the incident stream) and directly by the fleet end-to-end test.
import { decide, evolve, initialJudgeState, type JudgeConfig, type JudgeEvent, type JudgeState } from '../domain/judge';
import type { DeployAdapter } from './deploy-adapter';

export interface RolloutRunnerOptions {
  readonly adapter: DeployAdapter;
  readonly judge: JudgeConfig;
  readonly release: string;
  /** How often counts are read and judged. */
  readonly observeEveryMs: number;
  /** Called with every judge event after the adapter acted on it (the deployer appends them). */
  readonly onEvent: (event: JudgeEvent) => Promise<void> | void;
  readonly now?: () => number;
  readonly signal?: AbortSignal;
}

/**
 * Runs the rollout to its end and returns the final judge state. Order of effects: the adapter acts
 * first (traffic moved, or rolled back), then the event is recorded, so a recorded StageAdvanced is
 * always true of the traffic. An adapter failure during the rollout rolls back (cause `aborted`);
 * the error is rethrown only when the rollback itself fails.
 */
export async function runRollout(options: RolloutRunnerOptions): Promise<JudgeState> {
  const now = options.now ?? Date.now;
  const { adapter, judge } = options;
  let state: JudgeState = initialJudgeState();
  const apply = async (events: JudgeEvent[]) => {
    for (const event of events) {
      if (event.type === 'StageAdvanced') await adapter.setStage(event.to);
      if (event.type === 'RolledBack') await adapter.rollback(event.reason);
      state = evolve(state, event);
      await options.onEvent(event);
    }
  };
  await adapter.startCanary(options.release);
  await apply(decide({ type: 'Start', at: now(), snapshot: await adapter.readCounts() }, state, judge));
  await adapter.setStage(judge.stages[0] as number);
  while (state.status === 'running') {
    await new Promise((resolve) => setTimeout(resolve, options.observeEveryMs));
    try {
      if (options.signal?.aborted) {
        await apply(decide({ type: 'Abort', at: now(), snapshot: await adapter.readCounts(), reason: 'the deployer was asked to stop this rollout' }, state, judge));
        break;
      }
      await apply(decide({ type: 'Observe', at: now(), snapshot: await adapter.readCounts() }, state, judge));
    } catch (error) {
      if (state.status !== 'running') throw error;
      // Counts unreadable: judge the abort on the stage's starting counts (an empty stage).
      const snapshot = await adapter.readCounts().catch(() => state.stageBaseline);
      await apply(decide({ type: 'Abort', at: now(), snapshot, reason: `adapter failure: ${(error as Error).message}` }, state, judge));
    }
  }
  return state;
}
