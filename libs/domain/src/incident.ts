// The `incident-<id>` stream folded once, for every service, the CLI and the read models: the
// samples, the diagnosis rounds with their proposals and verdicts, the fix each round settles on,
// the fixes that failed, the rollout as the judge sees it, escalation and resolution.
import type { EventData, Fold, PatchId, RecordedEvent } from '@antibody/contracts';
import { rolloutStartedIn, rolloutEvolve, type RolloutView } from './rollout';

/** Where an incident stands, for people and read models. */
export type IncidentStatus =
  | 'open'
  | 'diagnosing'
  | 'patching'
  | 'validating'
  /** A fix is chosen and waits for a person's approval or for the deployer. */
  | 'fix-chosen'
  /** The fix is committed (a branch or pull request) and not rolled out. */
  | 'committed'
  | 'rolling-out'
  | 'resolved'
  | 'escalated'
  /** A person closed it without a fix (IncidentClosed). */
  | 'closed';

/** One patch proposed for the incident, with what became of it. */
export interface PatchState {
  readonly proposal: RecordedEvent<'PatchProposed'>;
  /** The diagnosis round that proposed it (0 for the first). */
  readonly round: number;
  /** The validator's verdict: validated (proven to heal), rejected, or unproven (no reproduction could prove it). */
  readonly verdict?: RecordedEvent<'PatchValidated'> | RecordedEvent<'PatchRejected'> | RecordedEvent<'PatchUnproven'>;
  readonly committed?: EventData<'FixCommitted'>;
  readonly rolledBack?: RecordedEvent<'RolledBack'>;
  readonly completed?: EventData<'RolloutCompleted'>;
}

/** One diagnosis round: the first sample starts round 0; each DiagnosisRequested or IncidentReopened starts the next. */
export interface Round {
  readonly index: number;
  /** What started it: the first ErrorRecorded, a DiagnosisRequested (after a rollback) or an IncidentReopened. */
  readonly trigger: RecordedEvent<'ErrorRecorded'> | RecordedEvent<'DiagnosisRequested'> | RecordedEvent<'IncidentReopened'>;
  /** Rounds since the incident was (re)opened that followed a rollback; 0 for the first round. */
  readonly rollbackRound: number;
  readonly diagnosis?: RecordedEvent<'DiagnosisMade'> | RecordedEvent<'DiagnosisFailed'>;
  /** Proposals of this round, best rank first. */
  readonly patchIds: readonly PatchId[];
  readonly patchFailed?: RecordedEvent<'PatchFailed'>;
  /**
   * The fix of this round: the best-ranked validated candidate once every better one was
   * rejected, and the verdict event that settled it (exactly one event of the stream does).
   */
  readonly chosen?: { readonly patchId: PatchId; readonly settledBy: string };
  /**
   * Every proposal of this round has its verdict and none was validated (each rejected or unproven):
   * the verdict event that settled it (exactly one event of the stream does, whatever order the
   * verdicts arrive in).
   */
  readonly noneValidated?: { readonly settledBy: string };
  /** The round ended without a rollout going on (resolved, escalated, or closed by a person). */
  readonly ended?: 'resolved' | 'escalated' | 'closed';
}

/** A fix that failed in production: excluded by a DiagnosisRequested, never proposed again. */
export interface FailedFix {
  readonly patchId: PatchId;
  /** The unified diff its PatchProposed carried; absent when the stream holds no proposal of that id. */
  readonly diff?: string;
  readonly files?: readonly string[];
  /** Why it failed: its RolledBack (stage, cause, reason), else the reason of the request that excluded it. */
  readonly outcome: string;
}

/** A patch the validator rejected for a reason about the change itself. */
export interface RejectedFix extends FailedFix {
  readonly diff: string;
  /** The commit that diff was made against, when the proposal recorded one. */
  readonly baseCommit?: string;
}

/** When the latest event of each step was recorded (the store's `recordedAt`, ISO-8601). */
export interface IncidentTimes {
  readonly opened?: string;
  readonly reopened?: string;
  readonly diagnosed?: string;
  /** A patch proposed, or none could be (PatchFailed). */
  readonly proposed?: string;
  /** A validator's verdict on a patch, whichever it was. */
  readonly verdict?: string;
  readonly committed?: string;
  readonly rolloutStarted?: string;
  /** A rollout rolled back or completed. */
  readonly rolloutEnded?: string;
  readonly decided?: string;
  readonly resolved?: string;
  readonly escalated?: string;
  readonly closed?: string;
  /** The latest event of any kind. */
  readonly last?: string;
}

const STEP_OF: Readonly<Partial<Record<string, Exclude<keyof IncidentTimes, 'last'>>>> = {
  IncidentOpened: 'opened',
  IncidentReopened: 'reopened',
  DiagnosisMade: 'diagnosed',
  DiagnosisFailed: 'diagnosed',
  PatchProposed: 'proposed',
  PatchFailed: 'proposed',
  PatchValidated: 'verdict',
  PatchRejected: 'verdict',
  PatchUnproven: 'verdict',
  FixCommitted: 'committed',
  RolloutStarted: 'rolloutStarted',
  RolledBack: 'rolloutEnded',
  RolloutCompleted: 'rolloutEnded',
  DecisionRecorded: 'decided',
  IncidentResolved: 'resolved',
  IncidentEscalated: 'escalated',
  IncidentClosed: 'closed',
};

/** Everything the incident's stream says, folded. */
export interface IncidentState {
  /** -1 before the first event. */
  readonly version: number;
  readonly status: IncidentStatus;
  readonly opened?: EventData<'IncidentOpened'>;
  /** The sample the first round diagnoses, and the latest one (the validator reproduces it). */
  readonly firstSample?: RecordedEvent<'ErrorRecorded'>;
  readonly latestSample?: RecordedEvent<'ErrorRecorded'>;
  /** The first sample since the incident was last (re)opened: the one each diagnosis round of this opening diagnoses. */
  readonly openSample?: RecordedEvent<'ErrorRecorded'>;
  readonly samples: number;
  /** The release the incident's errors came from last (IncidentOpened, IncidentReopened or a sample). */
  readonly release?: string;
  /** Occurrences counted by ingest, all buckets. */
  readonly occurrences: number;
  readonly rounds: readonly Round[];
  /** Every proposal, by patch id. */
  readonly patches: Readonly<Record<string, PatchState>>;
  /** Patches excluded by DiagnosisRequested, in the order they were first excluded, with the request's reason. */
  readonly excluded: readonly { readonly patchId: PatchId; readonly reason: string }[];
  /** The latest rollout, as the judge sees it. */
  readonly rollout?: RolloutView;
  readonly escalation?: EventData<'IncidentEscalated'>;
  /** Every escalation of the incident, in stream order (its metadata names what caused it); kept across reopenings. */
  readonly escalations: readonly RecordedEvent<'IncidentEscalated'>[];
  readonly resolution?: EventData<'IncidentResolved'>;
  readonly decisions: readonly RecordedEvent<'DecisionRecorded'>[];
  /** LLM spend metered for this incident, USD. */
  readonly spentUsd: number;
  /** A person declared it resolved outside the loop (followed by IncidentResolved `manual`); cleared by a reopening. */
  readonly manualResolution?: EventData<'ManualResolutionRecorded'>;
  /** A person closed it without a fix; cleared by a reopening. */
  readonly closure?: EventData<'IncidentClosed'>;
  /** The W3C trace id of the incident: that of the first event carrying a traceparent (IncidentOpened). */
  readonly traceId?: string;
  /** When the error was last seen: the latest sample's receivedAt or counted bucket's start. */
  readonly lastSeen?: string;
  readonly at: IncidentTimes;
}

/** The fold of an incident stream. Events of other streams never occur in it. */
export const incidentFold: Fold<IncidentState> = {
  initialState: () => ({ version: -1, status: 'open', samples: 0, occurrences: 0, rounds: [], patches: {}, excluded: [], escalations: [], decisions: [], spentUsd: 0, at: {} }),
  evolve: (state, event) => ({ ...stamp(evolveIncident(state, event), event), version: event.streamVersion }),
};

/** What every event says besides its own data: when its step happened, the trace, when the error was last seen. */
function stamp(state: IncidentState, event: RecordedEvent): IncidentState {
  const step = STEP_OF[event.type];
  const at = { ...state.at, ...(step ? { [step]: event.recordedAt } : {}), last: event.recordedAt };
  const traceId = state.traceId ?? event.metadata.traceparent?.split('-')[1];
  const seen = event.type === 'ErrorRecorded' ? event.data.receivedAt : event.type === 'OccurrencesCounted' ? event.data.bucketStart : undefined;
  const lastSeen = seen !== undefined && (state.lastSeen === undefined || Date.parse(seen) > Date.parse(state.lastSeen)) ? seen : state.lastSeen;
  return { ...state, at, ...(traceId !== undefined ? { traceId } : {}), ...(lastSeen !== undefined ? { lastSeen } : {}) };
}

function evolveIncident(state: IncidentState, event: RecordedEvent): IncidentState {
  switch (event.type) {
    case 'IncidentOpened':
      return { ...state, opened: event.data, status: 'open', ...releaseOf(event.data) };
    case 'ErrorRecorded': {
      const first = state.firstSample === undefined;
      const sampled = {
        ...state,
        samples: state.samples + 1,
        latestSample: event,
        ...(first ? { firstSample: event } : {}),
        ...(state.openSample === undefined ? { openSample: event } : {}),
        ...releaseOf(event.data),
      };
      return first && state.rounds.length === 0 ? { ...startRound(sampled, event, 0), status: 'diagnosing' } : sampled;
    }
    case 'OccurrencesCounted':
      return { ...state, occurrences: state.occurrences + event.data.count };
    case 'IncidentReopened': {
      const { escalation: _e, resolution: _r, openSample: _s, manualResolution: _m, closure: _c, ...open } = state;
      return { ...startRound({ ...open, ...releaseOf(event.data) }, event, 0), status: 'diagnosing' };
    }
    case 'DiagnosisRequested': {
      const excluded = [...state.excluded];
      for (const patchId of event.data.excludePatchIds) if (!excluded.some((x) => x.patchId === patchId)) excluded.push({ patchId, reason: event.data.reason });
      const previous = currentRound(state)?.rollbackRound ?? 0;
      return { ...startRound({ ...state, excluded }, event, previous + 1), status: 'diagnosing' };
    }
    case 'DiagnosisMade':
      return { ...withRound(state, (r) => ({ ...r, diagnosis: event })), status: 'patching' };
    case 'DiagnosisFailed':
      return withRound(state, (r) => ({ ...r, diagnosis: event }));
    case 'PatchProposed': {
      const round = Math.max(0, state.rounds.length - 1);
      const patches = { ...state.patches, [event.data.patchId]: { proposal: event, round } };
      const next = withRound({ ...state, patches }, (r) => ({ ...r, patchIds: byRank(patches, [...r.patchIds, event.data.patchId]) }));
      return { ...next, status: 'validating' };
    }
    case 'PatchFailed':
      return withRound(state, (r) => ({ ...r, patchFailed: event }));
    case 'PatchValidated':
    case 'PatchRejected':
    case 'PatchUnproven': {
      const patch = state.patches[event.data.patchId];
      if (!patch || patch.verdict) return state;
      const patches = { ...state.patches, [event.data.patchId]: { ...patch, verdict: event } };
      const next = withRound({ ...state, patches }, (r) => settle(r, patches, event.eventId));
      return currentRound(next)?.chosen && !currentRound(state)?.chosen ? { ...next, status: 'fix-chosen' } : next;
    }
    case 'FixCommitted':
      return { ...withPatch(state, event.data.patchId, (p) => ({ ...p, committed: event.data })), status: 'committed' };
    case 'RolloutStarted':
      return { ...state, rollout: rolloutStartedIn(event), status: 'rolling-out' };
    case 'StageAdvanced':
      return state.rollout ? { ...state, rollout: rolloutEvolve(state.rollout, event) } : state;
    case 'RolledBack':
      return {
        ...withPatch(state, event.data.patchId, (p) => ({ ...p, rolledBack: event })),
        ...(state.rollout ? { rollout: rolloutEvolve(state.rollout, event) } : {}),
      };
    case 'RolloutCompleted':
      return {
        ...withPatch(state, event.data.patchId, (p) => ({ ...p, completed: event.data })),
        ...(state.rollout ? { rollout: rolloutEvolve(state.rollout, event) } : {}),
      };
    case 'DecisionRecorded':
      return { ...state, decisions: [...state.decisions, event], ...(state.rollout ? { rollout: rolloutEvolve(state.rollout, event) } : {}) };
    case 'IncidentResolved':
      return { ...withRound(state, (r) => ({ ...r, ended: 'resolved' })), resolution: event.data, status: 'resolved' };
    case 'IncidentEscalated':
      return { ...withRound(state, (r) => ({ ...r, ended: 'escalated' })), escalation: event.data, escalations: [...state.escalations, event], status: 'escalated' };
    case 'ManualResolutionRecorded':
      return { ...state, manualResolution: event.data };
    case 'IncidentClosed':
      return { ...withRound(state, (r) => ({ ...r, ended: 'closed' })), closure: event.data, status: 'closed' };
    case 'LlmCallMetered':
      return { ...state, spentUsd: state.spentUsd + event.data.costUsd };
    default:
      return state;
  }
}

function releaseOf(data: { readonly release?: string }): { release?: string } {
  return data.release !== undefined ? { release: data.release } : {};
}

function startRound(state: IncidentState, trigger: Round['trigger'], rollbackRound: number): IncidentState {
  return { ...state, rounds: [...state.rounds, { index: state.rounds.length, trigger, rollbackRound, patchIds: [] }] };
}

function withRound(state: IncidentState, change: (round: Round) => Round): IncidentState {
  const last = state.rounds[state.rounds.length - 1];
  return last ? { ...state, rounds: [...state.rounds.slice(0, -1), change(last)] } : state;
}

function withPatch(state: IncidentState, patchId: string, change: (patch: PatchState) => PatchState): IncidentState {
  const patch = state.patches[patchId];
  return patch ? { ...state, patches: { ...state.patches, [patchId]: change(patch) } } : state;
}

function byRank(patches: IncidentState['patches'], ids: readonly PatchId[]): PatchId[] {
  return [...ids].sort((a, b) => (patches[a]?.proposal.data.rank ?? Infinity) - (patches[b]?.proposal.data.rank ?? Infinity));
}

/**
 * The round with its fix chosen once every better-ranked candidate is rejected or unproven, or with
 * none validated once the last verdict is in; `settledBy` is the verdict that decided it.
 */
function settle(round: Round, patches: IncidentState['patches'], verdictId: string): Round {
  if (round.chosen || round.noneValidated || round.ended) return round;
  for (const patchId of round.patchIds) {
    const verdict = patches[patchId]?.verdict;
    if (!verdict) return round;
    if (verdict.type === 'PatchValidated') return { ...round, chosen: { patchId, settledBy: verdictId } };
  }
  return round.patchIds.length > 0 ? { ...round, noneValidated: { settledBy: verdictId } } : round;
}

/** The latest round, or undefined before the first sample. */
export function currentRound(state: IncidentState): Round | undefined {
  return state.rounds[state.rounds.length - 1];
}

/** The fix the current round settled on, unless the round ended. */
export function chosenFix(state: IncidentState): PatchState | undefined {
  const round = currentRound(state);
  if (!round?.chosen || round.ended) return undefined;
  return state.patches[round.chosen.patchId];
}

/**
 * The fixes that failed in production (excluded by a DiagnosisRequested), once each, in the order
 * they were first excluded: a change that failed in production is never proposed again.
 */
export function failedFixes(state: IncidentState): FailedFix[] {
  return state.excluded.map(({ patchId, reason }) => {
    const patch = state.patches[patchId];
    const rolledBack = patch?.rolledBack?.data;
    const outcome = rolledBack ? `rolled back at ${rolledBack.stage}% (${rolledBack.cause ?? 'unknown cause'}): ${rolledBack.reason}`.trim() : reason;
    return {
      patchId,
      ...(patch ? { diff: patch.proposal.data.diff, files: [...patch.proposal.data.files] } : {}),
      outcome,
    };
  });
}

/**
 * Validation steps whose failure says nothing about the change (the checkout, the dependencies or
 * the unpatched tests failed): such a rejection does not rule the change out.
 */
const NOT_ABOUT_THE_CHANGE = new Set(['prepare', 'install', 'baseline']);

/** The patches the validator rejected for a reason about the change, in the order they were rejected. */
export function rejectedFixes(state: IncidentState): RejectedFix[] {
  return Object.values(state.patches)
    .filter((p): p is PatchState & { verdict: RecordedEvent<'PatchRejected'> } => p.verdict?.type === 'PatchRejected' && !NOT_ABOUT_THE_CHANGE.has(p.verdict.data.stage ?? ''))
    .sort((a, b) => a.verdict.streamVersion - b.verdict.streamVersion)
    .map(({ proposal, verdict }) => ({
      patchId: proposal.data.patchId,
      diff: proposal.data.diff,
      files: [...proposal.data.files],
      ...(proposal.data.baseCommit !== undefined ? { baseCommit: proposal.data.baseCommit } : {}),
      outcome: `rejected by the validator${verdict.data.stage ? ` at ${verdict.data.stage}` : ''}: ${verdict.data.reason}`.trim(),
    }));
}
