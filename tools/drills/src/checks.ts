// What a drill checks once the faults are over, from the event store and the effects the outside
// world saw: nothing lost, nothing doubled, nothing stuck. Pure: the drill and its spec feed it
// what they read.
import { loopOutcome, type LoopOutcome } from '../../demo/dist/progress';

/** The part of a stored event the checks read. */
export interface DrillEvent {
  readonly type: string;
  readonly streamId: string;
  readonly streamVersion: number;
  readonly data: unknown;
}

/** A report the drill's relay saw ingest accept (2xx), by the service it was sent for. */
export interface AcceptedReport {
  readonly service: string;
  /** The Sentry event id of the report. */
  readonly eventId: string;
}

/** What reached the outside world: fix commits per incident branch, canary starts, notices. */
export interface Effects {
  /** Commits on `antibody/<incident>` beyond the default branch, by incident id, in the service's origin. */
  readonly fixCommits: ReadonlyMap<string, number>;
  /** Every `canary.start` the delivery system received. */
  readonly canaryStarts: readonly { readonly service: string; readonly release: string }[];
  /** Every notice the notice webhook received (a digest counts once per notice it carried). */
  readonly notices: readonly { readonly deliveryId: string; readonly incidentId: string; readonly kind: string }[];
}

/** One thing found wrong. */
export interface Finding {
  readonly what: string;
  readonly subject: string;
  readonly detail: string;
}

export interface DrillCheck {
  readonly lost: readonly Finding[];
  readonly doubled: readonly Finding[];
  readonly stuck: readonly Finding[];
  /** Where each service's incident ended (`healed`, `stopped: <stage>`), or `missing`. */
  readonly endStates: ReadonlyMap<string, string>;
}

type Json = Record<string, unknown>;
const field = (e: DrillEvent, key: string): string => String(((e.data ?? {}) as Json)[key] ?? '');

/** A short name for an end state, the same for every incident that ended the same way. */
export function endStateOf(outcome: LoopOutcome): string {
  if (outcome.status === 'healed') return 'healed';
  if (outcome.status === 'stopped') return `stopped: ${outcome.stage}`;
  return `running: waiting for ${outcome.waitingFor}`;
}

function countBy<T>(items: readonly T[], key: (item: T) => string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  return counts;
}

/**
 * Checks a drill's outcome.
 * - lost: an accepted report whose service has no incident, or fewer `ErrorRecorded` than reports;
 * - doubled: two `IncidentOpened` for one service and fingerprint, more `ErrorRecorded` than
 *   accepted reports, two diagnoses in one round, two proposals, verdicts, commits, rollouts, stage
 *   advances or ends for one patch, two resolutions or escalations in one round, and effects seen
 *   twice (fix commits on one incident's branch, canary starts of one release, notices);
 * - stuck: an incident still running (its loop outcome), i.e. not healed, stopped or escalated.
 */
export function checkDrill(input: { readonly events: readonly DrillEvent[]; readonly reports: readonly AcceptedReport[]; readonly services: readonly string[]; readonly effects: Effects }): DrillCheck {
  const lost: Finding[] = [];
  const doubled: Finding[] = [];
  const stuck: Finding[] = [];
  const endStates = new Map<string, string>();
  const byStream = new Map<string, DrillEvent[]>();
  for (const e of input.events) {
    if (!e.streamId.startsWith('incident-')) continue;
    byStream.set(e.streamId, [...(byStream.get(e.streamId) ?? []), e]);
  }
  const opened = input.events.filter((e) => e.type === 'IncidentOpened');
  for (const [key, n] of countBy(opened, (e) => `${field(e, 'service')} ${field(e, 'fingerprint')}`)) {
    if (n > 1) doubled.push({ what: 'IncidentOpened', subject: key, detail: `${n} incidents opened for one service and fingerprint` });
  }
  const reportsBy = countBy(input.reports, (r) => r.service);
  for (const service of input.services) {
    const streams = opened.filter((e) => field(e, 'service') === service).map((e) => e.streamId);
    const accepted = reportsBy.get(service) ?? 0;
    if (streams.length === 0) {
      endStates.set(service, 'missing');
      if (accepted > 0) lost.push({ what: 'report', subject: service, detail: `${accepted} report(s) accepted, no incident opened` });
      continue;
    }
    const events = streams.flatMap((s) => byStream.get(s) ?? []).sort((a, b) => a.streamVersion - b.streamVersion);
    const recorded = events.filter((e) => e.type === 'ErrorRecorded').length;
    if (recorded < accepted) lost.push({ what: 'report', subject: service, detail: `${accepted} report(s) accepted, ${recorded} ErrorRecorded` });
    if (recorded > accepted) doubled.push({ what: 'ErrorRecorded', subject: service, detail: `${recorded} ErrorRecorded for ${accepted} accepted report(s)` });
    const outcome = loopOutcome(events);
    endStates.set(service, endStateOf(outcome));
    if (outcome.status === 'running') stuck.push({ what: 'incident', subject: streams[0] as string, detail: `${service}: still waiting for ${outcome.waitingFor}` });
    doubled.push(...doubledInStream(streams[0] as string, events));
  }
  for (const [incidentId, n] of input.effects.fixCommits) {
    if (n > 1) doubled.push({ what: 'fix commit', subject: `antibody/${incidentId}`, detail: `${n} commits on the fix branch` });
  }
  for (const [key, n] of countBy(input.effects.canaryStarts, (s) => `${s.service} ${s.release}`)) {
    if (n > 1) doubled.push({ what: 'canary.start', subject: key, detail: `the delivery system was told to start this canary ${n} times` });
  }
  for (const [key, n] of countBy(input.effects.notices, (n) => `${n.deliveryId} ${n.incidentId} ${n.kind}`)) {
    if (n > 1) doubled.push({ what: 'notice', subject: key, detail: `delivered ${n} times` });
  }
  for (const [key, deliveries] of groupDistinct(input.effects.notices, (n) => `${n.incidentId} ${n.kind}`, (n) => n.deliveryId)) {
    if (deliveries > 1) doubled.push({ what: 'notice', subject: key, detail: `sent in ${deliveries} different deliveries` });
  }
  return { lost, doubled, stuck, endStates };
}

function groupDistinct<T>(items: readonly T[], key: (item: T) => string, value: (item: T) => string): Map<string, number> {
  const sets = new Map<string, Set<string>>();
  for (const item of items) sets.set(key(item), (sets.get(key(item)) ?? new Set()).add(value(item)));
  return new Map([...sets].map(([k, s]) => [k, s.size]));
}

/** What one incident stream holds twice. */
function doubledInStream(streamId: string, events: readonly DrillEvent[]): Finding[] {
  const found: Finding[] = [];
  const twice = (what: string, items: readonly DrillEvent[], key: (e: DrillEvent) => string) => {
    for (const [k, n] of countBy(items, key)) if (n > 1) found.push({ what, subject: `${streamId} ${k}`.trim(), detail: `${n} times` });
  };
  const ofType = (...types: string[]) => events.filter((e) => types.includes(e.type));
  // A round starts at IncidentOpened, DiagnosisRequested (after a rollback) or IncidentReopened.
  let round = 0;
  const roundOf = new Map<DrillEvent, number>();
  for (const e of events) {
    if (e.type === 'DiagnosisRequested' || e.type === 'IncidentReopened') round++;
    roundOf.set(e, round);
  }
  const inRound = (e: DrillEvent) => `round ${roundOf.get(e) ?? 0}`;
  twice('diagnosis', ofType('DiagnosisMade', 'DiagnosisFailed'), inRound);
  twice('PatchProposed', ofType('PatchProposed'), (e) => field(e, 'patchId'));
  twice('verdict', ofType('PatchValidated', 'PatchRejected', 'PatchUnproven'), (e) => field(e, 'patchId'));
  twice('FixCommitted', ofType('FixCommitted'), (e) => field(e, 'patchId'));
  twice('RolloutStarted', ofType('RolloutStarted'), (e) => field(e, 'patchId'));
  twice('StageAdvanced', ofType('StageAdvanced'), (e) => `${field(e, 'patchId')} ${field(e, 'stage')}`);
  twice('rollout end', ofType('RolloutCompleted', 'RolledBack'), (e) => field(e, 'patchId'));
  twice('IncidentResolved', ofType('IncidentResolved'), inRound);
  twice('IncidentEscalated', ofType('IncidentEscalated'), inRound);
  return found;
}
