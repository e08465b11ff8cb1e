import { histogramOf } from './latency';
import { canonicalUuid, type RequestReport } from './report';

type Json = Record<string, unknown>;

function record(value: unknown): Json | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : undefined;
}

function name(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value.slice(0, 200) : undefined;
}

/** A Sentry timestamp (seconds since the epoch, or an RFC 3339 string) in ms; undefined when absent or invalid. */
function timestampMs(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value * 1000;
  if (typeof value === 'string') {
    const ms = Date.parse(value);
    return Number.isNaN(ms) ? undefined : ms;
  }
  return undefined;
}

function durationMs(start: unknown, end: unknown): number | undefined {
  const s = timestampMs(start);
  const e = timestampMs(end);
  return s !== undefined && e !== undefined && e >= s ? e - s : undefined;
}

/** Sentry span statuses that are not failures (`unset` is OpenTelemetry's "no status"). */
const OK_STATUSES = new Set(['ok', 'unset']);

/**
 * Whether a request failed. An HTTP response status decides when there is one (≥ 500), as for OTLP
 * server spans: Sentry SDKs also give 4xx answers a non-ok status (`error`, `not_found`,
 * `permission_denied`…), and a client's bad request is not a failure of the release. Without one,
 * any status other than `ok`/`unset` is a failure.
 */
function failed(status: unknown, httpStatus: unknown): boolean {
  const code = typeof httpStatus === 'string' && httpStatus.trim() !== '' ? Number(httpStatus) : httpStatus;
  if (typeof code === 'number' && Number.isFinite(code) && code > 0) return code >= 500;
  return typeof status === 'string' && status !== '' && !OK_STATUSES.has(status.toLowerCase());
}

/** Context of one conversion. */
export interface RequestContext {
  readonly service: string;
  readonly receivedAt: string;
  /** Used when the payload has no valid id of its own. */
  readonly fallbackId: string;
}

/**
 * A Sentry `transaction` item as one request of its release: duration `timestamp − start_timestamp`,
 * failed when the HTTP response status (`contexts.trace.data["http.response.status_code"]`, else
 * `contexts.response.status_code`) is ≥ 500, or, without one, when `contexts.trace.status` is set
 * and not `ok`.
 * A transaction without valid timestamps counts as a request without a duration.
 * Undefined when the payload is not a JSON object.
 */
export function requestFromSentryTransaction(payload: unknown, ctx: RequestContext): RequestReport | undefined {
  const transaction = record(payload);
  if (!transaction) return undefined;
  const contexts = record(transaction['contexts']);
  const trace = record(contexts?.['trace']);
  const httpStatus = record(trace?.['data'])?.['http.response.status_code'] ?? record(contexts?.['response'])?.['status_code'];
  const duration = durationMs(transaction['start_timestamp'], transaction['timestamp']);
  const release = name(transaction['release']);
  const environment = name(transaction['environment']);
  return {
    kind: 'requests',
    eventId: canonicalUuid(transaction['event_id']) ?? ctx.fallbackId,
    service: ctx.service,
    ...(release ? { release } : {}),
    ...(environment ? { environment } : {}),
    count: 1,
    errors: failed(trace?.['status'], httpStatus) ? 1 : 0,
    durationMsSum: duration ?? 0,
    durationHistogram: histogramOf(duration === undefined ? [] : [duration]),
    receivedAt: ctx.receivedAt,
  };
}

/** The value of a span v2 attribute (`{value, type}`), or the attribute itself when given bare. */
function attribute(attributes: Json | undefined, key: string): unknown {
  const raw = attributes?.[key];
  const wrapped = record(raw);
  return wrapped && 'value' in wrapped ? wrapped['value'] : raw;
}

/**
 * A Sentry `span` item (span streaming, `application/vnd.sentry.items.span.v2+json`: `{items: [...]}`,
 * what current SDKs send by default instead of transactions) as requests: each **segment** span
 * (`is_segment: true`, the local root that a transaction used to be) is one request of the release
 * in its `sentry.release` attribute (else the envelope header's `trace.release`), lasting
 * `end_timestamp − start_timestamp`, failed as a transaction is (its `http.response.status_code`
 * ≥ 500, else a status other than `ok`). Child spans are not counted. One report per release and
 * environment, with ids `idFor(0)`, `idFor(1)`…; empty when the item holds no segment.
 */
export function requestsFromSentrySpans(payload: unknown, envelopeTrace: unknown, ctx: Omit<RequestContext, 'fallbackId'> & { idFor: (index: number) => string }): RequestReport[] {
  const items = record(payload)?.['items'];
  if (!Array.isArray(items)) return [];
  const headerTrace = record(envelopeTrace);
  const groups = new Map<string, { release?: string; environment?: string; count: number; errors: number; durations: number[] }>();
  for (const raw of items) {
    const span = record(raw);
    if (!span || span['is_segment'] !== true) continue;
    const attributes = record(span['attributes']);
    const release = name(attribute(attributes, 'sentry.release')) ?? name(headerTrace?.['release']);
    const environment = name(attribute(attributes, 'sentry.environment')) ?? name(headerTrace?.['environment']);
    const key = JSON.stringify([release ?? '', environment ?? '']);
    const group = groups.get(key) ?? { ...(release ? { release } : {}), ...(environment ? { environment } : {}), count: 0, errors: 0, durations: [] };
    group.count += 1;
    if (failed(span['status'], attribute(attributes, 'http.response.status_code'))) group.errors += 1;
    const duration = durationMs(span['start_timestamp'], span['end_timestamp']);
    if (duration !== undefined) group.durations.push(duration);
    groups.set(key, group);
  }
  return [...groups.values()].map((group, index) => ({
    kind: 'requests',
    eventId: ctx.idFor(index),
    service: ctx.service,
    ...(group.release ? { release: group.release } : {}),
    ...(group.environment ? { environment: group.environment } : {}),
    count: group.count,
    errors: group.errors,
    durationMsSum: group.durations.reduce((sum, ms) => sum + ms, 0),
    durationHistogram: histogramOf(group.durations),
    receivedAt: ctx.receivedAt,
  }));
}
