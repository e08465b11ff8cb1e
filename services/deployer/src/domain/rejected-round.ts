// A round in which the validator validated no candidate (each rejected, or unproven: no reproduction
// could show it heals) ends escalated, naming each verdict: the loop has nothing left to try on its
// own, and a person must see why before deciding the next step. The incident fold names the one
// verdict that settled "none validated" (`Round.noneValidated`), so the escalation is decided once
// per round whatever order the verdicts arrive in.
import { appendEvents, ignore, type Decision, type RecordedEvent } from '@antibody/contracts';
import { currentRound, type IncidentState } from '@antibody/domain';

/** A verdict (PatchValidated, PatchRejected or PatchUnproven) was recorded. */
export interface VerdictRecorded {
  readonly verdictId: string;
}

/** Longest part of the reason given to one verdict, so that every candidate of a round is named. */
const REJECTION_MAX_CHARS = 300;

/**
 * Escalates (step `validation`) when this verdict is the one that left the current round with no
 * validated candidate; ignores every other verdict, and a round that already ended. An unproven
 * candidate that the service's policy sends as a pull request is not escalated here: the commit
 * decides it (see `decideCommit`), and `proposeUnproven` says whether it does.
 */
export function decideRejectedRound(command: VerdictRecorded, state: IncidentState, options: { readonly proposeUnproven?: boolean } = {}): Decision {
  const round = currentRound(state);
  if (round?.noneValidated?.settledBy !== command.verdictId) return ignore('this verdict does not leave the current round without a validated candidate');
  if (round.ended) return ignore(`the round already ended (${round.ended})`);
  if (options.proposeUnproven && round.patchIds.some((id) => state.patches[id]?.verdict?.type === 'PatchUnproven')) {
    return ignore('an unproven candidate is proposed as a pull request, as the policy allows');
  }
  const verdicts = round.patchIds.map((patchId) => {
    const patch = state.patches[patchId];
    const verdict = patch?.verdict;
    const name = `patch ${patchId.slice(0, 8)} (rank ${patch?.proposal.data.rank ?? '?'})`;
    if (verdict?.type === 'PatchRejected') return `${name}${rejectedAt(verdict)}: ${cut(verdict.data.reason)}`;
    if (verdict?.type === 'PatchUnproven') return `${name} unproven: ${cut(verdict.data.reason)}`;
    return `${name}: no verdict recorded`;
  });
  const unproven = round.patchIds.filter((id) => state.patches[id]?.verdict?.type === 'PatchUnproven').length;
  const candidates = verdicts.length === 1 ? 'the only candidate' : `all ${verdicts.length} candidates`;
  const what = unproven === 0 ? `the validator rejected ${candidates}` : `the validator validated none of ${candidates === 'the only candidate' ? 'the candidates' : candidates} (${unproven} unproven: no reproduction could show they heal)`;
  return appendEvents({
    type: 'IncidentEscalated',
    data: { step: 'validation', reason: `${what} of round ${round.index}: ${verdicts.join('; ')}; a person decides the next step` },
  });
}

function rejectedAt(verdict: RecordedEvent<'PatchRejected'>): string {
  return verdict.data.stage ? ` rejected at ${verdict.data.stage}` : ' rejected';
}

function cut(reason: string): string {
  const oneLine = reason.replace(/\s+/g, ' ').trim();
  return oneLine.length > REJECTION_MAX_CHARS ? `${oneLine.slice(0, REJECTION_MAX_CHARS - 1)}…` : oneLine;
}
