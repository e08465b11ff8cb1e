import { parseEventData, type EventData, type EventType } from '@antibody/contracts';
import type { StoredEvent } from '@antibody/event-store';

// Pure formatting of events for people: one line per event, one header per stream. No I/O.

/** Longest summary printed on a timeline line; longer ones end with `…`. */
export const SUMMARY_MAX_CHARS = 100;

/** Stand-in for an absent value (a root event's causation, a missing field). */
export const NONE = '—';

/** The part of a stored event a summary is made from. */
export type SummarisableEvent = Pick<StoredEvent, 'type' | 'schemaVersion' | 'data'>;

/**
 * A one-line description of an event's data, at most {@link SUMMARY_MAX_CHARS} characters.
 * Catalog types pick their meaningful fields (IncidentOpened -> `TypeError: Cannot read … (checkout,
 * fp a3f1c9e0)`); unknown types, and data that does not match its schema, fall back to the first
 * scalar fields as `k=v`. Never throws.
 */
export function summarise(event: SummarisableEvent): string {
  return truncate(oneLine(typedSummary(event) ?? genericSummary(event.data)), SUMMARY_MAX_CHARS);
}

/** Options of {@link formatTimelineLine}. */
export interface TimelineLineOptions {
  /** Print the stream id after the time (the global log mixes streams). */
  readonly withStream?: boolean;
}

/**
 * One timeline line: recorded time (ISO, ms), `#version`, type, producer `service/instance`,
 * causation (short event id, or `—` for a root), and the {@link summarise | summary}.
 */
export function formatTimelineLine(event: StoredEvent, options: TimelineLineOptions = {}): string {
  const producer = `${event.metadata.producer.service}/${event.metadata.producer.instance}`;
  const causation = event.metadata.causationId ? `<- ${shortId(event.metadata.causationId)}` : NONE;
  const columns = [
    isoMillis(event.recordedAt),
    ...(options.withStream ? [event.streamId] : []),
    `#${event.streamVersion}`.padEnd(4),
    event.type.padEnd(TYPE_COLUMN),
    producer.padEnd(PRODUCER_COLUMN),
    causation.padEnd(CAUSATION_COLUMN),
    summarise(event),
  ];
  return columns.join('  ').trimEnd();
}

/** The header of a stream's timeline: stream id, event count, and correlation and trace ids when known. */
export function formatStreamHeader(streamId: string, events: readonly StoredEvent[]): string {
  const parts = [`${events.length} ${events.length === 1 ? 'event' : 'events'}`];
  const first = events[0];
  if (first) {
    parts.push(`correlation ${first.metadata.correlationId}`);
    const trace = traceIdOf(events.find((event) => event.metadata.traceparent)?.metadata.traceparent);
    if (trace) parts.push(`trace ${trace}`);
  }
  return `stream ${streamId}: ${parts.join(', ')}`;
}

/** The first 8 characters of an id (a uuid's first group). */
export function shortId(id: string): string {
  return id.slice(0, 8);
}

/** The trace id (32 hex) of a W3C traceparent, or undefined. */
export function traceIdOf(traceparent: string | undefined): string | undefined {
  return traceparent?.split('-')[1];
}

const TYPE_COLUMN = 22; // PatternOutcomeRecorded
const PRODUCER_COLUMN = 22; // validator/validator-12
const CAUSATION_COLUMN = 11; // `<- 1a2b3c4d`

function isoMillis(iso: string): string {
  const time = new Date(iso);
  return Number.isNaN(time.getTime()) ? iso : time.toISOString();
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

function quote(text: string, max = 60): string {
  return truncate(oneLine(text), max);
}

function percent(value: number): string {
  return `${Number((value * 100).toFixed(2))}%`;
}

function usd(value: number | undefined): string {
  return value === undefined ? '' : `, $${value.toFixed(4)}`;
}

function optional(label: string, value: string | undefined): string {
  return value === undefined ? '' : `, ${label}${value}`;
}

/** Generic fallback: the first scalar fields of an object as `k=v`. */
function genericSummary(data: unknown): string {
  if (data === null || typeof data !== 'object') return data === undefined ? '' : JSON.stringify(data);
  const fields: string[] = [];
  const entries: [string, unknown][] = Object.entries(data);
  for (const [key, value] of entries) {
    if (typeof value === 'string') fields.push(`${key}=${quote(value, 40)}`);
    else if (typeof value === 'number' || typeof value === 'boolean') fields.push(`${key}=${String(value)}`);
    if (fields.length === 5) break;
  }
  return fields.join(' ');
}

type Summariser<T extends EventType> = (data: EventData<T>) => string;

function typedSummary(event: SummarisableEvent): string | undefined {
  const summariser = (SUMMARISERS as Partial<Record<string, Summariser<EventType>>>)[event.type];
  if (!summariser) return undefined;
  try {
    // Validates and upcasts stored data to the current schema, so summarisers read typed fields.
    return summariser(parseEventData(event.type as EventType, event.schemaVersion, event.data));
  } catch {
    return undefined;
  }
}

// One summariser per catalog type: adding an event type to the catalog fails the build until it
// is described here.
const SUMMARISERS: { readonly [T in EventType]: Summariser<T> } = {
  // service-<name>
  ServiceRegistered: (d) =>
    `${d.name}: ${d.repository.url} (${d.repository.defaultBranch}), test "${quote(d.commands.test, 30)}", deploy ${d.deploy.adapter}, auto-deploy ${d.policy.autoDeploy ? 'on' : 'off'}`,
  ServiceUpdated: (d) => `${d.registration.name}: changed ${d.changed.join(', ')}${optional('reason: ', d.reason)}`,
  ServicePolicyChanged: (d) =>
    `auto-deploy ${d.policy.autoDeploy ? 'on' : 'off'}, ${d.policy.allowedPaths.length} allowed paths, $${d.policy.budgets.perIncidentUsd}/incident${optional('reason: ', d.reason)}`,
  ServiceDeregistered: (d) => `${d.name}${optional('reason: ', d.reason)}`,
  IngestKeyCreated: (d) => `key ${shortId(d.keyId)} for ${d.project}${optional('label ', d.label)}`,
  IngestKeyRevoked: (d) => `key ${shortId(d.keyId)} for ${d.project}${optional('reason: ', d.reason)}`,
  // incident-<id>
  IncidentOpened: (d) => `${d.exception.type}: ${quote(d.exception.value)} (${d.service}, fp ${d.fingerprint.slice(0, 8)})`,
  ErrorRecorded: (d) => {
    const frame = [...d.frames].reverse().find((candidate) => candidate.inApp) ?? d.frames[d.frames.length - 1];
    const at = frame ? ` at ${frame.filename}${frame.lineno ? `:${frame.lineno}` : ''}` : '';
    return `${d.exception.type}: ${quote(d.exception.value)}${at}`;
  },
  OccurrencesCounted: (d) => `${d.count} in ${d.bucketSeconds}s from ${d.bucketStart}`,
  IncidentReopened: (d) => `${quote(d.reason)}${optional('release ', d.release)}`,
  DiagnosisMade: (d) =>
    `${quote(d.rootCause)} @ ${d.location.file}:${d.location.line} (${d.source} ${d.ruleId ?? d.patternId ?? d.model ?? NONE}, confidence ${d.confidence}${usd(d.costUsd)})`,
  DiagnosisFailed: (d) => `${quote(d.reason)}${usd(d.costUsd)}`,
  DiagnosisRequested: (d) => `back to diagnosis after ${d.step}: ${quote(d.reason)} (excluding ${d.excludePatchIds.map(shortId).join(', ')})`,
  PatchProposed: (d) =>
    `patch ${shortId(d.patchId)}: ${d.files.join(', ')} (${d.source} ${d.templateId ?? d.patternId ?? d.model ?? NONE}, rank ${d.rank}, confidence ${d.confidence}${usd(d.costUsd)})`,
  PatchFailed: (d) => `${quote(d.reason)}${usd(d.costUsd)}`,
  PatchValidated: (d) => {
    const count = (status: string) => d.tests.filter((test) => test.status === status).length;
    return `patch ${shortId(d.patchId)}: ${count('passed')} passed, ${count('failed')} failed, ${count('flaky')} flaky, reproduction ${d.reproduction.status}`;
  },
  PatchRejected: (d) =>
    `patch ${shortId(d.patchId)}: ${quote(d.reason)}${d.failingTests.length > 0 ? ` (failing: ${d.failingTests.join(', ')})` : ''}`,
  PatchUnproven: (d) => `patch ${shortId(d.patchId)} unproven: ${quote(d.reason)}`,
  FixCommitted: (d) => `patch ${shortId(d.patchId)}: ${d.branch} @ ${d.commitSha.slice(0, 7)}${d.pullRequestUrl ? ` ${d.pullRequestUrl}` : ''}`,
  RolloutStarted: (d) => `patch ${shortId(d.patchId)}: release ${d.release}, stages ${d.stages.map((stage) => `${stage}%`).join(' -> ')}`,
  StageAdvanced: (d) =>
    `patch ${shortId(d.patchId)}: canary at ${d.stage}% (error rate ${percent(d.evidence.errorRate.canary)} vs ${percent(d.evidence.errorRate.baseline)})`,
  RolledBack: (d) => `patch ${shortId(d.patchId)} at ${d.stage}%: ${quote(d.reason)}`,
  RolloutCompleted: (d) => `patch ${shortId(d.patchId)}: release ${d.release}`,
  IncidentResolved: (d) => `${d.resolution}${d.patchId ? ` (patch ${shortId(d.patchId)})` : ''}`,
  IncidentEscalated: (d) => `${d.step}: ${quote(d.reason)}`,
  DecisionRecorded: (d) =>
    `${d.by}: ${d.decision} ${d.step}${d.patchId ? ` (patch ${shortId(d.patchId)})` : ''}${d.comment ? ` "${quote(d.comment, 40)}"` : ''}`,
  LlmCallMetered: (d) => `${d.model} (${d.tier}) for ${d.step}: ${d.promptTokens}+${d.completionTokens} tokens${usd(d.costUsd)}`,
  // fleet-<service>
  TrafficChangeRequested: (d) => `${d.action} ${d.release}${d.percent !== undefined ? ` to ${d.percent}%` : ''}${optional('reason: ', d.reason)}`,
  TrafficChanged: (d) => `${d.action}: stable ${d.stableRelease}${d.canaryRelease ? `, canary ${d.canaryRelease} at ${d.canaryPercent}%` : ''}`,
  TrafficChangeRefused: (d) => `${d.action}: ${quote(d.reason)}`,
  FleetCountsReported: (d) =>
    `canary ${d.canaryRelease} at ${d.canaryPercent}%: ${d.counts.canary.errors}/${d.counts.canary.requests} errors vs stable ${d.counts.stable.errors}/${d.counts.stable.requests}`,
  ReplicaFailed: (d) => `${d.replica} ${d.kind}: ${quote(d.detail)}`,
  // pattern-<id>
  PatternLearned: (d) => `${d.errorClass} (${d.source}${d.incidentId ? `, from incident ${shortId(d.incidentId)}` : ''})`,
  PatternOutcomeRecorded: (d) =>
    `${d.success ? 'success' : 'failure'} on incident ${shortId(d.incidentId)}, estimate ${d.successEstimate}`,
  PatternRetired: (d) => quote(d.reason),
  // deadletter-<consumer>
  MessageDeadLettered: (d) =>
    `${d.consumer} gave up on ${d.originalType} ${shortId(d.originalEventId)} after ${d.deliveryCount} deliveries: ${quote(d.reason)}`,
  // notice-<channel>
  NoticeRequested: (d) => `${d.kind} on ${d.channel}: ${quote(d.title)}`,
  NoticeDelivered: (d) => `${d.digest ? `digest of ${d.noticeIds.length}` : shortId(d.noticeIds[0] ?? '')} delivered to ${d.channel} (${d.attempts} attempt${d.attempts === 1 ? '' : 's'})`,
  NoticeFailed: (d) => `${d.noticeIds.length} notice(s) failed on ${d.channel} after ${d.attempts} attempts: ${quote(d.error)}`,
  // incident-<id>, by a person through the console
  ManualResolutionRecorded: (d) => `by ${d.by.name} (${d.by.role}): ${quote(d.reason)}${d.patchId ? ` (patch ${shortId(d.patchId)})` : ''}`,
  IncidentClosed: (d) => `by ${d.by.name} (${d.by.role}): ${quote(d.reason)}`,
  // token-<id>
  OperatorTokenCreated: (d) => `${d.name} (${d.role})`,
  OperatorTokenRevoked: (d) => `${shortId(d.tokenId)}${optional('reason: ', d.reason)}`,
};
