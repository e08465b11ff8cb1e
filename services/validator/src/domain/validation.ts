/**
 * The validator's decision about one proposed patch, from the incident's stream (folded by
 * `incidentFold`) and the service's (folded by `serviceFold`): nothing when the patch was already
 * judged, a rejection when it cannot be validated, a request to run the validation, and then the
 * verdict that validation produced. Pure.
 */
import { appendEvents, ignore, type Decision, type PatchId, type ServicePolicy } from '@antibody/contracts';
import { notUnderCare, underCare, type IncidentState, type ServiceRegistration, type ServiceState } from '@antibody/domain';
import type { CapturedCall } from './call-reproduction';
import type { CapturedFailure } from './reproduction';
import { prepareFailed, rejectionEvent, type VerdictEvent } from './steps';

/** What the validation reads of the service's registration. */
export type ServiceUnderCare = Pick<ServiceRegistration, 'repository' | 'commands'> & {
  readonly policy: Pick<ServicePolicy, 'allowedPaths' | 'forbiddenPaths' | 'allowedErrors'>;
};

/** One patch to validate, with everything the event store says about it. */
export interface ValidationRequest {
  readonly patchId: PatchId;
  readonly diff: string;
  readonly service: ServiceUnderCare;
  /** The incident's release (a commit, tag or branch); the default branch when absent or unknown. */
  readonly release?: string;
  /** The latest captured failure of the incident, when one was recorded, with the failing call when the application named it. */
  readonly failure?: CapturedFailure & { readonly call?: CapturedCall };
}

/** Validate the proposed patch `patchId` of the incident. */
export interface ValidatePatch {
  readonly patchId: PatchId;
  /** The incident's stream, named in reasons. */
  readonly incidentStream: string;
  /** The `service-<name>` stream of the incident's service, folded (the initial state when the incident names none). */
  readonly service: ServiceState;
  /** The validation's verdict, once it ran (the answer to a `validate` request). */
  readonly verdict?: VerdictEvent;
}

/** Run the validation of `request` and decide again with its verdict. */
export interface ValidationNeeded {
  readonly kind: 'validate';
  readonly request: ValidationRequest;
}

/** What {@link decideValidation} says: append (a verdict), ignore (and why), or validate first. */
export type ValidationDecision = Decision<VerdictEvent> | ValidationNeeded;

/**
 * Decides, in this order:
 *
 * 1. the stream holds no proposal of the patch: ignored;
 * 2. the patch already has a verdict (PatchValidated or PatchRejected): ignored, exactly one
 *    verdict per patch;
 * 3. the incident has no IncidentOpened (so no service, no release): rejected at `prepare`;
 * 4. the service is not under care (never registered, or deregistered: the meaning of
 *    `notUnderCare` everywhere): rejected at `prepare`, so the patch is not validated and the
 *    incident does not wait on it in silence;
 * 5. no validation ran yet: validate the proposal's diff against the release of IncidentOpened,
 *    with the latest captured failure;
 * 6. the validation's verdict is appended.
 */
export function decideValidation(command: ValidatePatch & { readonly verdict: VerdictEvent }, incident: IncidentState): Decision<VerdictEvent>;
export function decideValidation(command: ValidatePatch, incident: IncidentState): ValidationDecision;
export function decideValidation(command: ValidatePatch, incident: IncidentState): ValidationDecision {
  const { patchId } = command;
  const patch = incident.patches[patchId];
  if (!patch) return ignore(`the incident holds no proposal of patch ${patchId}`);
  if (patch.verdict) return ignore(`patch ${patchId} already has a verdict (${patch.verdict.type})`);
  const { opened } = incident;
  if (!opened) {
    return appendEvents(rejectionEvent(patchId, prepareFailed(`The incident stream ${command.incidentStream} has no IncidentOpened event, so the service and release are unknown`), {}));
  }
  const why = notUnderCare(command.service, opened.service);
  const registration = underCare(command.service);
  if (why !== undefined || !registration) {
    return appendEvents(rejectionEvent(patchId, prepareFailed(`The ${why ?? `service ${opened.service} is not under care`}`), {}));
  }
  if (command.verdict) return appendEvents(command.verdict);
  const sample = incident.latestSample?.data;
  return {
    kind: 'validate',
    request: {
      patchId,
      diff: patch.proposal.data.diff,
      service: { repository: registration.repository, commands: registration.commands, policy: registration.policy },
      // IncidentOpened's release, as the patcher reads it (not a later sample's, which the fold's `release` would be).
      ...(opened.release !== undefined ? { release: opened.release } : {}),
      ...(sample ? { failure: { exception: sample.exception, frames: sample.frames, ...(sample.request ? { request: sample.request } : {}), ...(sample.call ? { call: sample.call } : {}) } } : {}),
    },
  };
}
