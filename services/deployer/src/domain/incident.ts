// The incident stream as the deployer reads it: the one incident fold of @antibody/domain, with the
// deployer's configured judge as the settings of a rollout that did not record its own, and the
// stream as it stood when a person decided next to the stream as it stands now.
import { appendEvents, ignore, type Decision, type Fold, type RecordedEvent } from '@antibody/contracts';
import { currentRound, incidentFold, rolloutStartedIn, type IncidentState, type JudgeConfig, type PatchState } from '@antibody/domain';

/**
 * The incident fold, with `fallbackJudge` for a RolloutStarted that did not record its judge
 * settings (recorded settings always win): a resumed rollout is judged by the rules it started with.
 */
export function incidentFoldJudgedBy(fallbackJudge: JudgeConfig): Fold<IncidentState> {
  return {
    initialState: incidentFold.initialState,
    evolve: (state, event) => {
      const next = incidentFold.evolve(state, event);
      return event.type === 'RolloutStarted' ? { ...next, rollout: rolloutStartedIn(event, fallbackJudge) } : next;
    },
  };
}

/** The stream up to one of its events (`at`) and as it stands (`now`), folded by the same fold. */
export interface IncidentThenAndNow {
  readonly at: IncidentState;
  readonly now: IncidentState;
}

/** Folds the stream twice in one pass: up to `version` (inclusive) and whole. */
export function incidentAt(version: number, fold: Fold<IncidentState>): Fold<IncidentThenAndNow> {
  return {
    initialState: () => ({ at: fold.initialState(), now: fold.initialState() }),
    evolve: (state: IncidentThenAndNow, event: RecordedEvent) => ({
      at: event.streamVersion <= version ? fold.evolve(state.at, event) : state.at,
      now: fold.evolve(state.now, event),
    }),
  };
}

/** The release name of a committed fix: `<service>@<first 12 hex of the commit>`. */
export function releaseName(service: string, commitSha: string): string {
  return `${service}@${commitSha.slice(0, 12)}`;
}

/** The latest committed fix: a round commits at most one, so the latest round with one has it. */
export function latestCommitted(state: IncidentState): (PatchState & { readonly committed: NonNullable<PatchState['committed']> }) | undefined {
  for (let i = state.rounds.length - 1; i >= 0; i--) {
    for (const patchId of state.rounds[i]?.patchIds ?? []) {
      const patch = state.patches[patchId];
      if (patch?.committed) return { ...patch, committed: patch.committed };
    }
  }
  return undefined;
}

/**
 * Escalates the incident from the rollout step, unless the incident already stands escalated for
 * this very reason (a redelivered decision).
 */
export function escalate(state: IncidentState, reason: string): Decision {
  if (currentRound(state)?.ended === 'escalated' && state.escalation?.reason === reason) return ignore(`already escalated: ${reason}`);
  return appendEvents({ type: 'IncidentEscalated', data: { reason, step: 'rollout' } });
}
