// Which verdict commits the fix, and what is committed. The patcher proposes ranked candidates and
// the validator judges them in any order; the incident fold settles each round on the best-ranked
// validated candidate once every better one was rejected, and names the one verdict that settled it.
// That verdict, and only it, commits the fix, once.
import { appendEvents, ignore, type Decision, type EventData, type IncidentId, type JsonValue, type PatchId, type ServiceName } from '@antibody/contracts';
import { currentRound, notUnderCare, underCare, type IncidentState, type ServiceState } from '@antibody/domain';
import { escalate } from './incident';

/** A verdict (PatchValidated, PatchRejected or PatchUnproven) was recorded. */
export interface CommitFixCommand {
  readonly verdictId: string;
  readonly streamId: string;
}

/** What the commit of the fix needs to know beyond the incident. */
export interface CommitFacts {
  /** The incident's service stream, folded; absent until read. */
  readonly service?: ServiceState;
  /** The registered repository is a local clone on this host (the deployer commits in one). */
  readonly localClone?: boolean;
  /** What committing did; absent until tried. */
  readonly commit?: { readonly ok: true; readonly fix: Omit<EventData<'FixCommitted'>, 'patchId'> } | { readonly ok: false; readonly reason: string };
}

/** The fix to commit on a branch of the service's repository (and the pull request to open, if any). */
export interface CommitRequest {
  readonly kind: 'commit';
  readonly incidentId: IncidentId;
  readonly patchId: PatchId;
  readonly repository: { readonly url: string; readonly defaultBranch: string };
  readonly remote: string;
  readonly diff: string;
  /** The regression test the validator wrote: it travels with the fix (it failed before, passes now). */
  readonly testDiff?: string;
  readonly title: string;
  readonly evidence: readonly string[];
  /** The registration's `deploy.settings.pullRequest`, when it asks for one. */
  readonly pullRequest?: JsonValue;
}

/** A fact the decision needs first: the service stream of the incident's service. */
export interface ReadService {
  readonly kind: 'read-service';
  readonly service: ServiceName;
}

/**
 * Decides what a verdict does: nothing unless it is the verdict that settled the current round's
 * fix; then commit the fix (asking for the service's registration, then for the commit itself) and
 * record FixCommitted, or escalate what cannot be done. Never commits a fix twice.
 */
export function decideCommit(command: CommitFixCommand, state: IncidentState, facts: CommitFacts = {}): Decision | ReadService | CommitRequest {
  const round = currentRound(state);
  const settled = round?.chosen?.settledBy === command.verdictId ? round.chosen.patchId : round?.noneValidated?.settledBy === command.verdictId ? bestUnproven(state) : undefined;
  if (!round || settled === undefined) return ignore('this verdict does not settle the fix of the current round');
  if (round.ended) return ignore(`the round already ended (${round.ended})`);
  const patch = state.patches[settled];
  const verdict = patch?.verdict;
  if (!patch || (verdict?.type !== 'PatchValidated' && verdict?.type !== 'PatchUnproven')) return ignore(`patch ${settled} has no validated proposal`);
  if (patch.committed) return ignore(`patch ${settled} is already committed (${patch.committed.commitSha})`);
  const opened = state.opened;
  if (!opened) return escalate(state, `patch ${settled} was validated but its incident or proposal is missing from ${command.streamId}`);
  if (!facts.service) return { kind: 'read-service', service: opened.service };
  const registration = underCare(facts.service);
  const unproven = verdict.type === 'PatchUnproven';
  // An unproven fix is committed only where the policy sends it as a pull request; otherwise the round is escalated (decideRejectedRound).
  if (unproven && registration?.policy.unprovenPatches !== 'pull-request') return ignore('an unproven fix is escalated, not committed, under this policy');
  if (!registration) return escalate(state, `${notUnderCare(facts.service, opened.service) ?? `service ${opened.service} is not under care`}: nowhere to commit the fix`);
  const { repository, deploy } = registration;
  if (!facts.localClone) return escalate(state, `repository ${repository.url} is not a local clone on this host; the deployer commits in a local clone`);
  if (!facts.commit) {
    const proposal = patch.proposal.data;
    const passed = verdict.data.tests.filter((t) => t.status === 'passed').length;
    const reproduction = verdict.data.reproduction;
    return {
      kind: 'commit',
      incidentId: opened.incidentId,
      patchId: settled,
      repository,
      remote: typeof deploy.settings.remote === 'string' ? deploy.settings.remote : 'origin',
      diff: proposal.diff,
      ...(reproduction.status === 'reproduced' && reproduction.diff ? { testDiff: reproduction.diff } : {}),
      title: commitSubject(unproven ? 'fix (unproven)' : 'fix', proposal.rationale, `heal ${opened.exception.type} in ${proposal.files[0] ?? 'the service'}`),
      evidence: [
        `${passed} of ${verdict.data.tests.length} tests passed`,
        unproven ? `UNPROVEN: ${verdict.data.reason} Review it as a person: it is never rolled out automatically.` : `reproduction: ${reproduction.status}`,
        `incident: ${opened.incidentId}`,
      ],
      ...(deploy.settings.pullRequest !== undefined ? { pullRequest: deploy.settings.pullRequest } : {}),
    };
  }
  if (!facts.commit.ok) return escalate(state, `the fix could not be committed: ${facts.commit.reason}`);
  return appendEvents({ type: 'FixCommitted', data: { patchId: settled, ...facts.commit.fix } });
}

/** Longest commit subject git tools show whole. */
const SUBJECT_MAX = 72;

/**
 * A commit subject that is a whole sentence of at most {@link SUBJECT_MAX} characters: the
 * rationale's first sentence when it fits, else `fallback` (never a sentence cut short).
 */
export function commitSubject(prefix: string, rationale: string, fallback: string): string {
  const firstLine = rationale.split('\n')[0]?.trim() ?? '';
  const sentence = (/^(.*?[.!?])(\s|$)/.exec(firstLine)?.[1] ?? firstLine).replace(/[.!?]$/, '');
  const subject = `${prefix}: ${sentence}`;
  if (sentence !== '' && subject.length <= SUBJECT_MAX) return subject;
  const short = `${prefix}: ${fallback}`;
  return short.length <= SUBJECT_MAX ? short : `${prefix}: heal the incident`;
}

/** The best-ranked unproven candidate of the current round, when no candidate was validated. */
function bestUnproven(state: IncidentState): PatchId | undefined {
  return currentRound(state)?.patchIds.find((id) => state.patches[id]?.verdict?.type === 'PatchUnproven');
}
