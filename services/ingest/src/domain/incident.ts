import type { EventData } from '@antibody/contracts';
import type { Grouping } from './fingerprint';
import type { ErrorReport } from './report';
import type { Frame } from './stack';

/** What ingest remembers about one fingerprint of one service. */
export interface FingerprintState {
  readonly incidentId: string;
  readonly status: 'open' | 'resolved';
  /** Full samples (ErrorRecorded) stored since the incident was opened or last reopened. */
  readonly samples: number;
}

/** What every occurrence of an error carries: enough to count it and to open or reopen its incident. */
export interface OccurrenceSummary {
  readonly service: string;
  readonly exception: { readonly type: string; readonly value: string };
  readonly release?: string;
  readonly environment?: string;
  /** ISO timestamp of acceptance (server clock). */
  readonly receivedAt: string;
}

/** An error occurrence, already source-mapped and grouped. */
export interface Occurrence {
  readonly summary: OccurrenceSummary;
  readonly grouping: Grouping;
  /**
   * The full source-mapped report, for a stored sample. Asked for only then: most occurrences are
   * only counted, and the processor need not keep every parsed report of a batch alive meanwhile.
   */
  readonly report: () => ErrorReport;
}

/** One event to append to `incident-<incidentId>`, for the occurrence that caused it. */
export interface IncidentEvent {
  readonly occurrence: Occurrence;
  readonly event:
    | { type: 'IncidentOpened'; data: EventData<'IncidentOpened'> }
    | { type: 'IncidentReopened'; data: EventData<'IncidentReopened'> }
    | { type: 'ErrorRecorded'; data: EventData<'ErrorRecorded'> };
}

/** The decision for a batch of occurrences of one fingerprint. */
export interface OccurrenceDecision {
  readonly incidentId: string;
  /** Whether the incident stream is new (IncidentOpened is its first event). */
  readonly opened: boolean;
  readonly events: readonly IncidentEvent[];
  readonly next: FingerprintState;
}

/** Settings of {@link decideOccurrences}. */
export interface DecideOptions {
  /** Full samples kept per incident (and again after each reopening). */
  readonly samplesPerIncident: number;
  /** The id to use when the fingerprint opens a new incident (randomness stays outside). */
  readonly newIncidentId: string;
}

/**
 * Decides what a batch of occurrences of the same fingerprint means, Emmett-style (pure):
 * - unknown fingerprint: `IncidentOpened` from the first occurrence;
 * - known and resolved: `IncidentReopened` (with the release it came back in) and the sample budget
 *   starts again;
 * - known and open: nothing but counting.
 * In every case the first occurrences are stored in full as `ErrorRecorded` until the incident has
 * `samplesPerIncident` of them; the rest are only counted (by the caller's counters).
 */
export function decideOccurrences(state: FingerprintState | undefined, occurrences: readonly Occurrence[], options: DecideOptions): OccurrenceDecision {
  const first = occurrences[0];
  if (!first) throw new Error('decideOccurrences needs at least one occurrence');
  const events: IncidentEvent[] = [];
  let incidentId = state?.incidentId ?? options.newIncidentId;
  let samples = state?.samples ?? 0;
  const opened = state === undefined;
  if (state === undefined) {
    incidentId = options.newIncidentId;
    events.push({ occurrence: first, event: { type: 'IncidentOpened', data: incidentOpened(incidentId, first) } });
  } else if (state.status === 'resolved') {
    samples = 0;
    events.push({
      occurrence: first,
      event: {
        type: 'IncidentReopened',
        data: {
          reason: `seen again after it was resolved${first.summary.release ? ` (release ${first.summary.release})` : ''}`,
          ...(first.summary.release ? { release: first.summary.release } : {}),
        },
      },
    });
  }
  for (const occurrence of occurrences) {
    if (samples >= options.samplesPerIncident) break;
    samples += 1;
    events.push({ occurrence, event: { type: 'ErrorRecorded', data: errorRecorded(occurrence.report()) } });
  }
  return { incidentId, opened, events, next: { incidentId, status: 'open', samples } };
}

function incidentOpened(incidentId: string, { summary, grouping }: Occurrence): EventData<'IncidentOpened'> {
  return {
    incidentId: incidentId as EventData<'IncidentOpened'>['incidentId'],
    service: summary.service as EventData<'IncidentOpened'>['service'],
    fingerprint: grouping.fingerprint,
    exception: { type: summary.exception.type, value: summary.exception.value },
    ...(summary.release ? { release: summary.release } : {}),
    ...(summary.environment ? { environment: summary.environment } : {}),
    ...(grouping.culprit ? { culprit: grouping.culprit } : {}),
    firstSeen: summary.receivedAt,
  };
}

function contractFrame(frame: Frame): EventData<'ErrorRecorded'>['frames'][number] {
  return {
    filename: frame.filename,
    ...(frame.function ? { function: frame.function } : {}),
    ...(frame.lineno ? { lineno: frame.lineno } : {}),
    ...(frame.colno ? { colno: frame.colno } : {}),
    inApp: frame.inApp,
    ...(frame.contextLine !== undefined ? { contextLine: frame.contextLine } : {}),
    ...(frame.preContext ? { preContext: frame.preContext } : {}),
    ...(frame.postContext ? { postContext: frame.postContext } : {}),
    ...(frame.module ? { module: frame.module } : {}),
    ...(frame.vars ? { vars: frame.vars as NonNullable<EventData<'ErrorRecorded'>['frames'][number]['vars']> } : {}),
  };
}

/** The full sample of one occurrence, in the contract's shape. */
export function errorRecorded(report: ErrorReport): EventData<'ErrorRecorded'> {
  return {
    exception: { type: report.exception.type, value: report.exception.value },
    frames: report.frames.map(contractFrame),
    ...(report.request ? { request: report.request as EventData<'ErrorRecorded'>['request'] } : {}),
    ...(report.call ? { call: report.call } : {}),
    tags: report.tags,
    ...(report.release ? { release: report.release } : {}),
    ...(report.environment ? { environment: report.environment } : {}),
    ...(report.sdk ? { sdk: report.sdk } : {}),
    receivedAt: report.receivedAt,
  };
}

/** Start of the time bucket of `iso` (UTC), `bucketSeconds` wide. */
export function bucketStart(iso: string, bucketSeconds: number): string {
  const ms = Date.parse(iso);
  const size = bucketSeconds * 1000;
  return new Date(Math.floor(ms / size) * size).toISOString();
}
