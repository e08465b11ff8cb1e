// What people may do to an incident, and who may do it: operator tokens (the `token-<id>` stream
// folded once, for the console and the CLI), the role each command needs, and the decisions of the
// commands approve, reject, retry, resolve and close on the folded incident stream.
import { appendEvents, type Decision, type EventData, type Fold, type IncidentEvent, type OperatorIdentity, type OperatorRole, type PatchId, type RecordedEvent, type TokenEvent } from '@antibody/contracts';
import type { IncidentState } from './incident';

/** Roles in increasing power: each may do what the ones before it may. */
export const OPERATOR_ROLES: readonly OperatorRole[] = ['viewer', 'operator', 'approver', 'admin'];

/** A command a person runs on an incident. */
export type OperatorCommandName = 'approve' | 'reject' | 'retry' | 'resolve' | 'close';

/** The least role each command needs: approving and rejecting a patch needs an approver. */
export const ROLE_NEEDED: { readonly [C in OperatorCommandName]: OperatorRole } = {
  approve: 'approver',
  reject: 'approver',
  retry: 'operator',
  resolve: 'operator',
  close: 'operator',
};

/** True when `role` may run `command`. */
export function mayRun(role: OperatorRole, command: OperatorCommandName): boolean {
  return OPERATOR_ROLES.indexOf(role) >= OPERATOR_ROLES.indexOf(ROLE_NEEDED[command]);
}

/** What a `token-<id>` stream says. */
export interface OperatorTokenState {
  readonly status: 'unknown' | 'active' | 'revoked';
  readonly token?: EventData<'OperatorTokenCreated'>;
  /** `recordedAt` of OperatorTokenCreated. */
  readonly createdAt?: string;
  readonly revokedAt?: string;
  readonly revocationReason?: string;
}

/** The fold of a token stream. */
export const operatorTokenFold: Fold<OperatorTokenState, RecordedEvent | (TokenEvent & { readonly recordedAt?: string })> = {
  initialState: () => ({ status: 'unknown' }),
  evolve: (state, event) => {
    switch (event.type) {
      case 'OperatorTokenCreated':
        return state.status === 'unknown' ? { status: 'active', token: event.data, ...(event.recordedAt ? { createdAt: event.recordedAt } : {}) } : state;
      case 'OperatorTokenRevoked':
        return state.status === 'active'
          ? { ...state, status: 'revoked', ...(event.recordedAt ? { revokedAt: event.recordedAt } : {}), ...(event.data.reason ? { revocationReason: event.data.reason } : {}) }
          : state;
      default:
        return state;
    }
  },
};

/** A person's command on one incident, with the identity of the token that authenticated it. */
export type OperatorCommand =
  | { readonly kind: 'approve' | 'reject'; readonly by: OperatorIdentity; readonly patchId: PatchId; readonly comment?: string }
  | { readonly kind: 'retry'; readonly by: OperatorIdentity; readonly step: 'diagnosis'; readonly comment?: string }
  | { readonly kind: 'resolve'; readonly by: OperatorIdentity; readonly reason: string; readonly patchId?: PatchId }
  | { readonly kind: 'close'; readonly by: OperatorIdentity; readonly reason: string };

/**
 * A command refused, and why, in words a person can act on: `not-found` (no such incident),
 * `invalid` (the command names something that is not the incident's, e.g. another incident's
 * patch), `conflict` (the incident is not in a state where the command means anything).
 */
export interface Refusal {
  readonly kind: 'refuse';
  readonly code: 'not-found' | 'invalid' | 'conflict';
  readonly because: string;
}

const refuse = (code: Refusal['code'], because: string): Refusal => ({ kind: 'refuse', code, because });

/**
 * Decides a person's command on the folded incident stream: the events to append, or a refusal.
 *
 * - approve: the patch must be the incident's, validated (a rejected or unproven patch is never
 *   rolled out) and committed; not already rolled out. Appends DecisionRecorded (step rollout),
 *   which the deployer carries out.
 * - reject: the patch must be the incident's and its rollout not ended. DecisionRecorded (reject);
 *   the deployer rolls a running rollout back, or escalates a fix not rolled out.
 * - retry (from diagnosis): only an escalated incident; DecisionRecorded (retry) and
 *   DiagnosisRequested excluding every patch that failed (the analyzer diagnoses again).
 * - resolve: ManualResolutionRecorded then IncidentResolved (manual).
 * - close: IncidentClosed.
 * Nothing is decided on a resolved or closed incident (but retry of nothing), nor while a rollout runs (resolve, close).
 */
export function decideOperatorCommand(command: OperatorCommand, state: IncidentState): Decision<IncidentEvent> | Refusal {
  if (state.version < 0 || !state.opened) return refuse('not-found', 'no such incident');
  const incident = state.opened.incidentId;
  if (state.status === 'closed') return refuse('conflict', `incident ${incident} was closed by ${state.closure?.by.name ?? 'a person'}: nothing more is done for it`);
  const rolling = state.rollout?.status === 'running' ? state.rollout : undefined;
  switch (command.kind) {
    case 'approve':
    case 'reject': {
      const patch = state.patches[command.patchId];
      if (!patch) return refuse('invalid', `patch ${command.patchId} is not a patch of incident ${incident}; its patches: ${Object.keys(state.patches).join(', ') || 'none yet'}`);
      if (state.status === 'resolved') return refuse('conflict', `incident ${incident} is resolved`);
      if (patch.rolledBack || patch.completed) return refuse('conflict', `patch ${command.patchId} was already ${patch.completed ? 'rolled out' : 'rolled back'}`);
      const earlier = state.decisions.find((d) => d.data.patchId === command.patchId && (d.data.decision === 'reject' || d.data.decision === command.kind));
      if (earlier) return refuse('conflict', `patch ${command.patchId} was already ${earlier.data.decision === 'reject' ? 'rejected' : 'approved'} by ${earlier.data.by}`);
      if (command.kind === 'approve') {
        if (patch.verdict?.type !== 'PatchValidated') {
          return refuse('conflict', `patch ${command.patchId} is not validated (${patch.verdict ? patch.verdict.type : 'its validation has not finished'}): only a validated patch is rolled out`);
        }
        if (!patch.committed) return refuse('conflict', `patch ${command.patchId} is validated but not committed yet: approve it once the deployer recorded FixCommitted`);
        if (rolling?.patchId === command.patchId) return refuse('conflict', `patch ${command.patchId} is already rolling out`);
      }
      return appendEvents({
        type: 'DecisionRecorded',
        data: { by: command.by.name, decision: command.kind, step: 'rollout', patchId: command.patchId, ...(command.comment ? { comment: command.comment } : {}) },
      });
    }
    case 'retry': {
      if (state.status !== 'escalated') return refuse('conflict', `incident ${incident} is ${state.status}, not escalated: the loop is not stopped, there is nothing to retry`);
      const failed = failedPatches(state);
      const [first, ...rest] = failed;
      if (first === undefined) {
        return refuse('conflict', `incident ${incident} has no failed patch to avoid, and the analyzer diagnoses an incident again only avoiding the patches that failed (it stopped at ${state.escalation?.step ?? 'an unknown step'}: ${state.escalation?.reason ?? 'no reason recorded'})`);
      }
      const why = `retry from diagnosis asked by ${command.by.name}${command.comment ? `: ${command.comment}` : ''}`;
      return appendEvents(
        { type: 'DecisionRecorded', data: { by: command.by.name, decision: 'retry', step: 'diagnosis', ...(command.comment ? { comment: command.comment } : {}) } },
        { type: 'DiagnosisRequested', data: { reason: why, step: 'diagnosis', excludePatchIds: [first, ...rest], ...(state.release !== undefined ? { release: state.release } : {}) } },
      );
    }
    case 'resolve': {
      if (state.status === 'resolved') return refuse('conflict', `incident ${incident} is already resolved (${state.resolution?.resolution ?? 'unknown'})`);
      if (command.patchId !== undefined && !state.patches[command.patchId]) return refuse('invalid', `patch ${command.patchId} is not a patch of incident ${incident}`);
      if (rolling) return refuse('conflict', `patch ${rolling.patchId} is rolling out: let it finish, or reject it first`);
      const patchId = command.patchId !== undefined ? { patchId: command.patchId } : {};
      return appendEvents(
        { type: 'ManualResolutionRecorded', data: { by: command.by, reason: command.reason, ...patchId } },
        { type: 'IncidentResolved', data: { resolution: 'manual', ...patchId } },
      );
    }
    case 'close': {
      if (state.status === 'resolved') return refuse('conflict', `incident ${incident} is resolved; closing is for an incident that will not be fixed`);
      if (rolling) return refuse('conflict', `patch ${rolling.patchId} is rolling out: reject it first`);
      return appendEvents({ type: 'IncidentClosed', data: { by: command.by, reason: command.reason } });
    }
  }
}

/** Patches a new diagnosis must avoid: rejected or unproven by the validator, rejected by a person, or rolled back. */
function failedPatches(state: IncidentState): PatchId[] {
  const rejectedByPerson = new Set(state.decisions.filter((d) => d.data.decision === 'reject').map((d) => d.data.patchId));
  return Object.values(state.patches)
    .filter((p) => p.rolledBack !== undefined || (p.verdict !== undefined && p.verdict.type !== 'PatchValidated') || rejectedByPerson.has(p.proposal.data.patchId))
    .map((p) => p.proposal.data.patchId);
}
