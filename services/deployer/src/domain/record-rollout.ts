// What the incident records of a judged rollout, and what follows a rollback. The judge's events
// become the contract's (StageAdvanced, RolledBack, RolloutCompleted + IncidentResolved), recorded
// together; a rollback is followed, in the same append, by its consequence: the incident goes back
// to diagnosis without every patch rolled back so far when the judge found the patch bad, and is
// escalated to a person when a person rejected it or the rollout had to be aborted.
import { appendEvents, ignore, type Decision, type EventData, type IncidentEvent, type PatchId } from '@antibody/contracts';
import { contractEvidence, type IncidentState, type JudgeEvent } from '@antibody/domain';

/** Events of one judge decision about the rollout of `patchId` (released as `release`). */
export interface RecordRolloutCommand {
  readonly patchId: PatchId;
  readonly release: string;
  readonly events: readonly JudgeEvent[];
  /** A rollback decided outside the judge (a rollout that could not be resumed). */
  readonly rolledBack?: EventData<'RolledBack'>;
}

/** The event that follows the rollback of `patchId` at `stage`. */
export function afterRollback(state: IncidentState, rollout: { readonly patchId: PatchId; readonly release: string }, rolledBack: EventData<'RolledBack'>): IncidentEvent {
  const { reason, stage, cause } = rolledBack;
  if (cause === 'rejected' || cause === 'aborted') {
    return { type: 'IncidentEscalated', data: { reason: `rollout of ${rollout.release} stopped at ${stage}%: ${reason}`, step: 'rollout' } };
  }
  const earlier = Object.values(state.patches)
    .flatMap((p) => (p.rolledBack ? [p.rolledBack] : []))
    .sort((a, b) => a.streamVersion - b.streamVersion)
    .map((r) => r.data.patchId);
  const excludePatchIds = [...new Set<PatchId>([rollout.patchId, ...earlier])];
  return {
    type: 'DiagnosisRequested',
    data: { reason: `patch ${rollout.patchId} was rolled back at ${stage}%: ${reason} (${cause})`, step: 'rollout', excludePatchIds, release: rollout.release },
  };
}

/**
 * The contract events of one judge decision, with what a rollback or a completion brings about;
 * nothing once the incident recorded the end of this patch's rollout (a decision recorded twice).
 */
export function decideRecordRollout(command: RecordRolloutCommand, state: IncidentState): Decision<IncidentEvent> {
  const { patchId, release } = command;
  const patch = state.patches[patchId];
  if (patch?.rolledBack) return ignore(`the rollout of patch ${patchId} was already rolled back`);
  if (patch?.completed) return ignore(`the rollout of patch ${patchId} was already completed`);
  const out: IncidentEvent[] = [];
  let rolledBack: EventData<'RolledBack'> | undefined;
  for (const e of command.events) {
    if (e.type === 'StageAdvanced') out.push({ type: 'StageAdvanced', data: { patchId, stage: e.to, evidence: contractEvidence(e.evidence), at: new Date(e.at).toISOString(), snapshot: e.snapshot } });
    if (e.type === 'RolledBack') {
      rolledBack = { patchId, reason: e.reason, stage: e.stage, cause: e.cause, evidence: contractEvidence(e.evidence), trace: e.trace.map(contractEvidence) };
      out.push({ type: 'RolledBack', data: rolledBack });
    }
    if (e.type === 'RolloutCompleted') {
      out.push({ type: 'RolloutCompleted', data: { patchId, release, evidence: contractEvidence(e.evidence), trace: e.trace.map(contractEvidence) } });
      out.push({ type: 'IncidentResolved', data: { resolution: 'deployed', patchId } });
    }
  }
  if (command.rolledBack) {
    rolledBack = command.rolledBack;
    out.push({ type: 'RolledBack', data: rolledBack });
  }
  if (rolledBack) out.push(afterRollback(state, command, rolledBack));
  const [first, ...rest] = out;
  return first ? appendEvents(first, ...rest) : ignore('the judge decided nothing to record');
}
