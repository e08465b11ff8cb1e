// When a committed fix is rolled out: at once under an auto-deploy policy, else when a person
// approves it (`antibody approve`); a person's rejection ends it. The rollout itself (the canary)
// is started by the infrastructure on request; what it returns is recorded, or escalated.
import { appendEvents, ignore, type Decision, type EventData, type IncidentId, type PatchId, type RecordedEvent, type ServiceName } from '@antibody/contracts';
import { currentRound, notUnderCare, underCare, type IncidentState, type ServiceRegistration, type ServiceState } from '@antibody/domain';
import type { ReadService } from './commit-fix';
import { escalate, latestCommitted, releaseName, type IncidentThenAndNow } from './incident';

/** Start the canary of a committed fix; the infrastructure answers with a {@link RolloutStartOutcome}. */
export interface StartRolloutRequest {
  readonly kind: 'start-rollout';
  readonly service: ServiceName;
  readonly incidentId: IncidentId;
  readonly patchId: PatchId;
  readonly release: string;
  readonly deploy: ServiceRegistration['deploy'];
}

/** Announce a committed fix a person must approve (a propose-only policy): nothing is appended. */
export interface ProposeFix {
  readonly kind: 'propose';
  readonly service: ServiceName;
  readonly incidentId: IncidentId;
  readonly branch: string;
  readonly pullRequestUrl?: string;
  /** Tests the validator saw pass with the patch. */
  readonly passed: number;
}

/** What starting the canary did. */
export type RolloutStartOutcome =
  | { readonly kind: 'started'; readonly data: EventData<'RolloutStarted'> }
  | { readonly kind: 'already-started'; readonly reason: string }
  | { readonly kind: 'failed'; readonly reason: string };

function startRollout(state: IncidentState, registration: ServiceRegistration, patchId: PatchId, commitSha: string): StartRolloutRequest | Decision {
  const opened = state.opened;
  if (!opened) return ignore('the incident has no IncidentOpened');
  return { kind: 'start-rollout', service: opened.service, incidentId: opened.incidentId, patchId, release: releaseName(opened.service, commitSha), deploy: registration.deploy };
}

/**
 * After FixCommitted: roll the fix out under an auto-deploy policy with a deploy adapter, else
 * propose it to a person; nothing when its round moved on (a rollout started, the incident was
 * resolved, escalated, sent back to diagnosis or reopened) or the service is no longer under care.
 */
export function decideRollOut(command: { readonly fixCommitted: RecordedEvent<'FixCommitted'> }, state: IncidentState, facts: { readonly service?: ServiceState } = {}): Decision | ReadService | StartRolloutRequest | ProposeFix {
  const { patchId, commitSha, branch, pullRequestUrl } = command.fixCommitted.data;
  const patch = state.patches[patchId];
  if (!patch) return ignore(`patch ${patchId} has no proposal in this incident`);
  if (state.rollout?.patchId === patchId) return ignore(`patch ${patchId} already has a rollout (${state.rollout.status})`);
  if (patch.rolledBack || patch.completed) return ignore(`patch ${patchId} was already rolled out`);
  const round = currentRound(state);
  if (round && round.index !== patch.round) return ignore('the incident moved on to another diagnosis round');
  if (round?.ended) return ignore(`the incident was ${round.ended}`);
  const opened = state.opened;
  if (!opened) return ignore('the incident has no IncidentOpened');
  if (!facts.service) return { kind: 'read-service', service: opened.service };
  const registration = underCare(facts.service);
  if (!registration) return ignore(notUnderCare(facts.service, opened.service) ?? `service ${opened.service} is not under care`);
  // An unproven fix (committed as a pull request because the policy allows it) is never rolled out automatically.
  const proven = patch.verdict?.type === 'PatchValidated';
  if (proven && registration.policy.autoDeploy && registration.deploy.adapter !== 'none') return startRollout(state, registration, patchId, commitSha);
  const passed = patch.verdict?.type === 'PatchValidated' ? patch.verdict.data.tests.filter((t) => t.status === 'passed').length : 0;
  return { kind: 'propose', service: opened.service, incidentId: opened.incidentId, branch, ...(pullRequestUrl !== undefined ? { pullRequestUrl } : {}), passed };
}

/**
 * A person's decision on the rollout (`antibody approve|reject`), judged on the stream as it stood
 * when they decided (`at`) and as it stands (`now`, so a redelivery does nothing twice). Approve
 * rolls the committed fix out, even under a propose-only policy (the person is the policy's
 * exception); reject of a running rollout is left to the loop driving it (it rolls back and
 * escalates), and of a fix not rolled out escalates naming the person and their comment.
 */
export function decidePersonDecision(
  command: { readonly decision: RecordedEvent<'DecisionRecorded'> },
  { at, now }: IncidentThenAndNow,
  facts: { readonly service?: ServiceState } = {},
): Decision | ReadService | StartRolloutRequest {
  const { by, decision, step, comment } = command.decision.data;
  if (step !== 'rollout') return ignore(`a decision on the ${step} step is not the deployer's`);
  if (decision === 'retry') return ignore("a retry is not the deployer's to carry out");
  const patchId = command.decision.data.patchId ?? latestCommitted(at)?.proposal.data.patchId;
  const fix = patchId !== undefined ? at.patches[patchId]?.committed : undefined;
  const ongoing = at.rollout !== undefined && at.rollout.patchId === patchId && at.rollout.status === 'running';
  const why = comment ? `: ${comment}` : '';
  if (decision === 'reject') {
    if (ongoing) return ignore(`the rollout of patch ${patchId} is running: the loop driving it rolls it back`);
    return escalate(now, `patch ${patchId ?? '(none)'} rejected by ${by}${why}`);
  }
  if (!at.opened || !fix || patchId === undefined) return escalate(now, `${by} approved patch ${patchId ?? '(none)'}, but no committed fix of it is in ${command.decision.streamId}`);
  if (now.rollout?.patchId === patchId) return ignore(`patch ${patchId} is already rolled out (${now.rollout.status})`);
  if (!facts.service) return { kind: 'read-service', service: at.opened.service };
  const registration = underCare(facts.service);
  if (!registration) return escalate(now, `${by} approved patch ${patchId}, but ${notUnderCare(facts.service, at.opened.service) ?? 'the service is not under care'}`);
  if (registration.deploy.adapter === 'none') {
    return escalate(now, `${by} approved patch ${patchId}, but service ${at.opened.service} has no deploy adapter: merge the fix's branch to deploy it`);
  }
  return startRollout(at, registration, patchId, fix.commitSha);
}

/** Records the rollout the canary started, once; escalates a canary that could not start. */
export function decideRolloutStarted(request: StartRolloutRequest, outcome: RolloutStartOutcome, state: IncidentState): Decision {
  switch (outcome.kind) {
    case 'started':
      if (state.rollout?.patchId === request.patchId) return ignore(`the rollout of patch ${request.patchId} is already recorded`);
      return appendEvents({ type: 'RolloutStarted', data: outcome.data });
    case 'already-started':
      return ignore(outcome.reason);
    case 'failed':
      return escalate(state, `the rollout of ${request.release} could not start: ${outcome.reason}`);
  }
}
