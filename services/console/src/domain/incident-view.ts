// What the console shows of an incident, derived from the shared incident fold (never a fold of
// its own): the list row, the detail (diagnosis, candidates with their diffs and verdicts, the
// rollout with the judge's evidence, decisions), the latest rollout as a row, and one line per event.
import type { RecordedEvent } from '@antibody/contracts';
import { currentRound, type IncidentState, type PatchState } from '@antibody/domain';

/** Where an incident stands, as operators read it. */
export const CONSOLE_STATUSES = [
  'open',
  'diagnosing',
  'patching',
  'validating',
  'awaiting-approval',
  'proposed-as-pr',
  'rolling-out',
  'resolved',
  'escalated',
  'closed',
] as const;
export type ConsoleStatus = (typeof CONSOLE_STATUSES)[number];

/** One row of the incidents list. Timestamps are ISO-8601; absent steps are null. */
export interface IncidentRow {
  readonly incidentId: string;
  readonly service: string;
  readonly title: string;
  readonly culprit: string | null;
  readonly fingerprint: string;
  readonly release: string | null;
  readonly environment: string | null;
  readonly status: ConsoleStatus;
  /** The diagnosis round (0 for the first). */
  readonly round: number;
  readonly samples: number;
  readonly occurrences: number;
  readonly firstSeen: string;
  readonly lastSeen: string;
  readonly chosenPatchId: string | null;
  readonly pullRequestUrl: string | null;
  readonly costUsd: number;
  readonly traceId: string | null;
  readonly openedAt: string;
  readonly diagnosedAt: string | null;
  readonly proposedAt: string | null;
  readonly verdictAt: string | null;
  readonly committedAt: string | null;
  readonly rolloutStartedAt: string | null;
  readonly rolloutEndedAt: string | null;
  readonly decidedAt: string | null;
  readonly resolvedAt: string | null;
  readonly escalatedAt: string | null;
  readonly closedAt: string | null;
  readonly updatedAt: string;
  /** The stream version the row was derived at. */
  readonly version: number;
}

/**
 * The status operators read: the fold's, with "a fix is chosen or committed" told apart into
 * awaiting a person's approval and proposed as a pull request.
 */
export function consoleStatus(state: IncidentState): ConsoleStatus {
  switch (state.status) {
    case 'open':
    case 'diagnosing':
    case 'patching':
    case 'validating':
    case 'rolling-out':
    case 'resolved':
    case 'escalated':
    case 'closed':
      return state.status;
    case 'fix-chosen':
      return 'awaiting-approval';
    case 'committed':
      return latestCommitted(state)?.committed?.pullRequestUrl !== undefined ? 'proposed-as-pr' : 'awaiting-approval';
    default: {
      const unknown: never = state.status;
      return unknown;
    }
  }
}

function latestCommitted(state: IncidentState): PatchState | undefined {
  const round = currentRound(state);
  const chosen = round?.chosen ? state.patches[round.chosen.patchId] : undefined;
  if (chosen?.committed) return chosen;
  return Object.values(state.patches).filter((p) => p.committed).sort((a, b) => b.proposal.streamVersion - a.proposal.streamVersion)[0];
}

/** The list row of an incident; undefined before its IncidentOpened. */
export function incidentRow(state: IncidentState): IncidentRow | undefined {
  const opened = state.opened;
  const openedAt = state.at.opened;
  if (!opened || openedAt === undefined) return undefined;
  const round = currentRound(state);
  const committed = latestCommitted(state);
  const at = state.at;
  return {
    incidentId: opened.incidentId,
    service: opened.service,
    title: `${opened.exception.type}: ${opened.exception.value}`.trim(),
    culprit: opened.culprit ?? null,
    fingerprint: opened.fingerprint,
    release: state.release ?? null,
    environment: opened.environment ?? null,
    status: consoleStatus(state),
    round: round?.index ?? 0,
    samples: state.samples,
    occurrences: state.occurrences,
    firstSeen: opened.firstSeen,
    lastSeen: state.lastSeen !== undefined && Date.parse(state.lastSeen) > Date.parse(opened.firstSeen) ? state.lastSeen : opened.firstSeen,
    chosenPatchId: round?.chosen?.patchId ?? null,
    pullRequestUrl: committed?.committed?.pullRequestUrl ?? null,
    costUsd: state.spentUsd,
    traceId: state.traceId ?? null,
    openedAt,
    diagnosedAt: at.diagnosed ?? null,
    proposedAt: at.proposed ?? null,
    verdictAt: at.verdict ?? null,
    committedAt: at.committed ?? null,
    rolloutStartedAt: at.rolloutStarted ?? null,
    rolloutEndedAt: at.rolloutEnded ?? null,
    decidedAt: at.decided ?? null,
    resolvedAt: at.resolved ?? null,
    escalatedAt: at.escalated ?? null,
    closedAt: at.closed ?? null,
    updatedAt: at.last ?? openedAt,
    version: state.version,
  };
}

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/** A recorded event's data as JSON, with the fields named in `drop` left out. */
function dataOf(event: { readonly data: unknown }, drop: readonly string[] = []): { [key: string]: Json } {
  const out: { [key: string]: Json } = {};
  for (const [key, value] of Object.entries(JSON.parse(JSON.stringify(event.data)) as { [key: string]: Json })) if (!drop.includes(key)) out[key] = value;
  return out;
}

/** The verdict of a patch, whichever verdict event it is: its type, when, and its data (tests, reproduction, reason…) without the log excerpts. */
function verdictView(verdict: PatchState['verdict']): Json {
  if (!verdict) return null;
  return { type: verdict.type, recordedAt: verdict.recordedAt, ...dataOf(verdict, ['logs', 'patchId']) };
}

/** The latest rollout: its patch, release, status, stages, the stage reached and the judge's evidence at each stage change. */
export interface RolloutRow {
  readonly incidentId: string;
  readonly patchId: string;
  readonly service: string;
  readonly release: string;
  readonly status: 'running' | 'rolled-back' | 'completed' | 'unresumable';
  readonly stages: readonly number[];
  /** The canary's share of traffic now (running) or when it ended. */
  readonly stage: number | null;
  readonly startedAt: string | null;
  readonly endedAt: string | null;
  readonly cause: string | null;
  readonly reason: string | null;
  readonly evidence: Json;
}

/** The incident's latest rollout as a row; undefined when none started. */
export function rolloutRow(state: IncidentState): RolloutRow | undefined {
  const rollout = state.rollout;
  if (!rollout || !state.opened) return undefined;
  const patch = state.patches[rollout.patchId];
  const base = { incidentId: state.opened.incidentId, patchId: rollout.patchId, service: state.opened.service, release: rollout.release, stages: [...rollout.judge.stages], startedAt: state.at.rolloutStarted ?? null };
  switch (rollout.status) {
    case 'running':
      return {
        ...base,
        status: 'running',
        stage: rollout.judge.stages[rollout.state.stageIndex] ?? null,
        endedAt: null,
        cause: null,
        reason: rollout.rejection ? `rejected by ${rollout.rejection.by}; rolling back` : null,
        evidence: JSON.parse(JSON.stringify(rollout.state.trace)) as Json,
      };
    case 'rolled-back': {
      const back = patch?.rolledBack;
      return { ...base, status: 'rolled-back', stage: back?.data.stage ?? null, endedAt: back?.recordedAt ?? state.at.rolloutEnded ?? null, cause: back?.data.cause ?? null, reason: back?.data.reason ?? null, evidence: back ? ([...(back.data.trace ?? []), ...(back.data.evidence && !back.data.trace ? [back.data.evidence] : [])] as Json) : [] };
    }
    case 'completed': {
      const done = patch?.completed;
      return { ...base, status: 'completed', stage: 100, endedAt: state.at.rolloutEnded ?? null, cause: null, reason: null, evidence: done ? ([...(done.trace ?? []), ...(done.evidence && !done.trace ? [done.evidence] : [])] as Json) : [] };
    }
    case 'unresumable':
      return { ...base, status: 'unresumable', stage: null, endedAt: null, cause: null, reason: rollout.reason, evidence: [] };
  }
}

/** What `GET /v1/incidents/{id}` adds to the row: the story of each round and each candidate. */
export function incidentDetail(state: IncidentState): { [key: string]: Json } {
  const sample = (event: RecordedEvent<'ErrorRecorded'> | undefined): Json => (event ? { recordedAt: event.recordedAt, ...dataOf(event) } : null);
  return {
    samples: { first: sample(state.firstSample), latest: sample(state.latestSample) },
    rounds: state.rounds.map((round) => ({
      index: round.index,
      trigger: { type: round.trigger.type, recordedAt: round.trigger.recordedAt },
      diagnosis: round.diagnosis ? { type: round.diagnosis.type, recordedAt: round.diagnosis.recordedAt, ...dataOf(round.diagnosis) } : null,
      patchIds: [...round.patchIds],
      patchFailed: round.patchFailed ? { recordedAt: round.patchFailed.recordedAt, ...dataOf(round.patchFailed) } : null,
      chosenPatchId: round.chosen?.patchId ?? null,
      noneValidated: round.noneValidated !== undefined,
      ended: round.ended ?? null,
    })),
    candidates: Object.values(state.patches)
      .sort((a, b) => a.round - b.round || a.proposal.data.rank - b.proposal.data.rank)
      .map((patch) => ({
        patchId: patch.proposal.data.patchId,
        round: patch.round,
        proposedAt: patch.proposal.recordedAt,
        ...dataOf(patch.proposal, ['patchId']),
        verdict: verdictView(patch.verdict),
        committed: patch.committed ? dataOf({ data: patch.committed }, ['patchId']) : null,
        rolledBack: patch.rolledBack ? { recordedAt: patch.rolledBack.recordedAt, ...dataOf(patch.rolledBack, ['patchId']) } : null,
        completed: patch.completed ? dataOf({ data: patch.completed }, ['patchId']) : null,
      })),
    excluded: state.excluded.map((x) => ({ patchId: x.patchId, reason: x.reason })),
    rollout: rolloutRow(state) ? (JSON.parse(JSON.stringify(rolloutRow(state))) as Json) : null,
    decisions: state.decisions.map((d) => ({ recordedAt: d.recordedAt, ...dataOf(d) })),
    escalations: state.escalations.map((e) => ({ recordedAt: e.recordedAt, ...dataOf(e) })),
    resolution: state.resolution ? dataOf({ data: state.resolution }) : null,
    manualResolution: state.manualResolution ? dataOf({ data: state.manualResolution }) : null,
    closure: state.closure ? dataOf({ data: state.closure }) : null,
  };
}

/** One line of an incident's timeline. */
export interface TimelineEntry {
  readonly version: number;
  readonly type: string;
  readonly recordedAt: string;
  readonly summary: string;
  /** The operator token's name for what a person did; null otherwise. */
  readonly actor: string | null;
}

const short = (id: string | undefined): string => (id ?? '').slice(0, 8);

/** The timeline line of one event of an incident stream (OccurrencesCounted are summed in the row instead). */
export function timelineEntry(event: RecordedEvent): TimelineEntry | undefined {
  const line = (summary: string, actor: string | null = null): TimelineEntry => ({ version: event.streamVersion, type: event.type, recordedAt: event.recordedAt, summary, actor });
  switch (event.type) {
    case 'OccurrencesCounted':
      return undefined;
    case 'IncidentOpened':
      return line(`${event.data.exception.type}: ${event.data.exception.value} in ${event.data.service}${event.data.release ? ` (${event.data.release})` : ''}`);
    case 'ErrorRecorded':
      return line(`sample: ${event.data.exception.type}: ${event.data.exception.value}`);
    case 'IncidentReopened':
      return line(`reopened: ${event.data.reason}`);
    case 'DiagnosisMade':
      return line(`diagnosed by ${event.data.source} (${Math.round(event.data.confidence * 100)}%): ${event.data.rootCause} at ${event.data.location.file}:${event.data.location.line}`);
    case 'DiagnosisFailed':
      return line(`no diagnosis: ${event.data.reason}`);
    case 'DiagnosisRequested':
      return line(`diagnosis requested again (${event.data.step}): ${event.data.reason}`);
    case 'PatchProposed':
      return line(`patch ${short(event.data.patchId)} proposed (rank ${event.data.rank}, ${event.data.source}) touching ${event.data.files.join(', ')}`);
    case 'PatchFailed':
      return line(`no patch: ${event.data.reason}`);
    case 'FixCommitted':
      return line(`patch ${short(event.data.patchId)} committed on ${event.data.branch}${event.data.pullRequestUrl ? `, ${event.data.pullRequestUrl}` : ''}`);
    case 'RolloutStarted':
      return line(`rollout of ${event.data.release} started: stages ${event.data.stages.join(' → ')} %`);
    case 'StageAdvanced':
      return line(`canary at ${event.data.stage} %`);
    case 'RolledBack':
      return line(`rolled back at ${event.data.stage} %${event.data.cause ? ` (${event.data.cause})` : ''}: ${event.data.reason}`);
    case 'RolloutCompleted':
      return line(`${event.data.release} serves all traffic`);
    case 'IncidentResolved':
      return line(`resolved (${event.data.resolution})`);
    case 'IncidentEscalated':
      return line(`escalated at ${event.data.step}: ${event.data.reason}`);
    case 'DecisionRecorded':
      return line(`${event.data.by}: ${event.data.decision} ${event.data.step}${event.data.patchId ? ` of patch ${short(event.data.patchId)}` : ''}${event.data.comment ? ` (${event.data.comment})` : ''}`, event.data.by);
    case 'LlmCallMetered':
      return line(`${event.data.model} (${event.data.tier}) for ${event.data.step}: $${event.data.costUsd.toFixed(4)}`);
    case 'ManualResolutionRecorded':
      return line(`${event.data.by.name} declared it resolved: ${event.data.reason}`, event.data.by.name);
    case 'IncidentClosed':
      return line(`${event.data.by.name} closed it: ${event.data.reason}`, event.data.by.name);
    default:
      // A verdict (validated, rejected, unproven…) or an event this version does not describe: its type says what happened.
      return line(verdictLine(event));
  }
}

function verdictLine(event: RecordedEvent): string {
  const data = dataOf(event);
  const patch = typeof data['patchId'] === 'string' ? ` of patch ${short(data['patchId'])}` : '';
  const reason = typeof data['reason'] === 'string' ? `: ${data['reason']}` : '';
  const tests = Array.isArray(data['tests']) ? ` (${data['tests'].length} tests)` : '';
  return `${event.type}${patch}${tests}${reason}`;
}
