// A round whose every candidate the validator rejected ends escalated, naming each rejection: the
// loop has nothing left to try on its own, and a person must see why before deciding the next step.
// The incident fold names the one verdict that settled "all rejected" (`Round.allRejected`), so the
// escalation is decided once per round whatever order the verdicts arrive in.
import { appendEvents, ignore, type Decision, type RecordedEvent } from '@antibody/contracts';
import { currentRound, type IncidentState } from '@antibody/domain';

/** A verdict (PatchValidated or PatchRejected) was recorded. */
export interface VerdictRecorded {
  readonly verdictId: string;
}

/** Longest part of the reason given to one rejection, so that every candidate of a round is named. */
const REJECTION_MAX_CHARS = 300;

/**
 * Escalates (step `validation`) when this verdict is the one that left every candidate of the
 * current round rejected; ignores every other verdict, and a round that already ended.
 */
export function decideRejectedRound(command: VerdictRecorded, state: IncidentState): Decision {
  const round = currentRound(state);
  if (round?.allRejected?.settledBy !== command.verdictId) return ignore('this verdict does not leave every candidate of the current round rejected');
  if (round.ended) return ignore(`the round already ended (${round.ended})`);
  const rejections = round.patchIds.map((patchId) => {
    const patch = state.patches[patchId];
    const verdict = patch?.verdict;
    const name = `patch ${patchId.slice(0, 8)} (rank ${patch?.proposal.data.rank ?? '?'})`;
    return verdict?.type === 'PatchRejected' ? `${name}${rejectedAt(verdict)}: ${cut(verdict.data.reason)}` : `${name}: no rejection recorded`;
  });
  const candidates = rejections.length === 1 ? 'the only candidate' : `all ${rejections.length} candidates`;
  return appendEvents({
    type: 'IncidentEscalated',
    data: { step: 'validation', reason: `the validator rejected ${candidates} of round ${round.index}: ${rejections.join('; ')}; a person decides the next step` },
  });
}

function rejectedAt(verdict: RecordedEvent<'PatchRejected'>): string {
  return verdict.data.stage ? ` rejected at ${verdict.data.stage}` : ' rejected';
}

function cut(reason: string): string {
  const oneLine = reason.replace(/\s+/g, ' ').trim();
  return oneLine.length > REJECTION_MAX_CHARS ? `${oneLine.slice(0, REJECTION_MAX_CHARS - 1)}…` : oneLine;
}
