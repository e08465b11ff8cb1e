// Which validated patch of an incident becomes its fix. The patcher proposes ranked candidates in
// one append and the validator judges each of them, in any order; the deployer commits and rolls out
// exactly one per diagnosis round: the best-ranked candidate that was validated, once every better
// one has been rejected. The choice depends only on the stream, so it is the same whatever order
// the verdicts arrive in, and exactly one event of the stream is the one that settles it.

/** The part of a stored event the choice reads. */
export interface ChoiceEvent {
  readonly type: string;
  readonly data: unknown;
}

const patchIdOf = (e: ChoiceEvent): string => String((e.data as { patchId?: unknown }).patchId ?? '');

/**
 * The PatchValidated event of the fix this round settles on, or undefined while a better-ranked
 * candidate still waits for its verdict, when every candidate was rejected, or when the round
 * already ended (IncidentResolved / IncidentEscalated). A round starts at the last
 * DiagnosisRequested or IncidentReopened.
 */
export function chosenFix<E extends ChoiceEvent>(events: readonly E[]): E | undefined {
  let start = 0;
  events.forEach((e, i) => {
    if (e.type === 'DiagnosisRequested' || e.type === 'IncidentReopened') start = i;
  });
  const round = events.slice(start);
  if (round.some((e) => e.type === 'IncidentResolved' || e.type === 'IncidentEscalated')) return undefined;
  const proposals = round.filter((e) => e.type === 'PatchProposed').sort((a, b) => rankOf(a) - rankOf(b));
  const verdicts = new Map(round.filter((e) => e.type === 'PatchValidated' || e.type === 'PatchRejected').map((e) => [patchIdOf(e), e]));
  for (const proposal of proposals) {
    const verdict = verdicts.get(patchIdOf(proposal));
    if (!verdict) return undefined;
    if (verdict.type === 'PatchValidated') return verdict;
  }
  return undefined;
}

/**
 * The fix that the last of `events` settles: defined only when the choice exists with it and did
 * not exist without it. So of all the verdicts of a round exactly one settles the choice, and a
 * handler reacting to each verdict acts once.
 */
export function fixSettledBy<E extends ChoiceEvent>(events: readonly E[]): E | undefined {
  const now = chosenFix(events);
  if (!now || events.length === 0) return undefined;
  return chosenFix(events.slice(0, -1)) === undefined ? now : undefined;
}

function rankOf(e: ChoiceEvent): number {
  const rank = (e.data as { rank?: unknown }).rank;
  return typeof rank === 'number' ? rank : Number.MAX_SAFE_INTEGER;
}
