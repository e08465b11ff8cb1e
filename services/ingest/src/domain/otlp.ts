import { createHash } from 'node:crypto';
import { FIELD_LIMITS, scrubUrl, type ErrorReport, type RequestReport } from './report';
import { histogramOf } from './latency';
import type { Scrubber } from './scrub';
import { parseV8Stack } from './stack';

type Json = Record<string, unknown>;

/** What one OTLP request yielded for one authenticated service. */
export interface OtlpResult {
  readonly reports: Array<ErrorReport | RequestReport>;
  /** Spans or log records refused (their resource names another service), for `partialSuccess`. */
  readonly rejected: number;
  readonly rejectedReason?: string;
}

/** Context of one conversion. */
export interface OtlpContext {
  /** The service the ingest key belongs to. */
  readonly service: string;
  readonly receivedAt: string;
  readonly scrubber: Scrubber;
  /** Derives a stable uuid from a string (the same input always gives the same id). */
  readonly idFrom: (seed: string) => string;
}

const list = (value: unknown): Json[] => (Array.isArray(value) ? value.filter((v): v is Json => typeof v === 'object' && v !== null) : []);

/** The JSON value of an OTLP AnyValue. */
export function anyValue(value: unknown, depth = 0): unknown {
  if (typeof value !== 'object' || value === null || depth > 16) return undefined;
  const v = value as Json;
  if ('stringValue' in v) return v['stringValue'];
  if ('boolValue' in v) return v['boolValue'];
  if ('intValue' in v) return Number(v['intValue']);
  if ('doubleValue' in v) return v['doubleValue'];
  if ('arrayValue' in v) return list((v['arrayValue'] as Json | undefined)?.['values']).map((item) => anyValue(item, depth + 1));
  if ('kvlistValue' in v) return attributes((v['kvlistValue'] as Json | undefined)?.['values'], depth + 1);
  return undefined;
}

/** OTLP attributes (`[{key, value}]`) as a plain object. */
export function attributes(value: unknown, depth = 0): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const kv of list(value).slice(0, 256)) {
    if (typeof kv['key'] === 'string') out[kv['key']] = anyValue(kv['value'], depth);
  }
  return out;
}

const text = (value: unknown, max: number = FIELD_LIMITS.shortText): string | undefined =>
  typeof value === 'string' && value !== '' ? value.slice(0, max) : typeof value === 'number' ? String(value) : undefined;

interface ResourceInfo {
  readonly serviceName?: string;
  readonly release?: string;
  readonly environment?: string;
}

function resourceInfo(resource: unknown): ResourceInfo {
  const attrs = attributes((resource as Json | undefined)?.['attributes']);
  const serviceName = text(attrs['service.name']);
  const release = text(attrs['service.version'], 200);
  const environment = text(attrs['deployment.environment.name'] ?? attrs['deployment.environment'], 200);
  return { ...(serviceName ? { serviceName } : {}), ...(release ? { release } : {}), ...(environment ? { environment } : {}) };
}

/** OpenTelemetry SDKs default `service.name` to `unknown_service[:process]`; that names no one. */
function namesOtherService(info: ResourceInfo, service: string): boolean {
  return info.serviceName !== undefined && !info.serviceName.startsWith('unknown_service') && info.serviceName !== service;
}

function errorReport(
  attrs: Record<string, unknown>,
  info: ResourceInfo,
  ctx: OtlpContext,
  id: string,
  extraTags: Record<string, string>,
  fallbackMessage?: string,
): ErrorReport | undefined {
  const stack = text(attrs['exception.stacktrace'], 256 * 1024);
  const type = text(attrs['exception.type']);
  const message = text(attrs['exception.message'], FIELD_LIMITS.message) ?? fallbackMessage;
  if (!stack && !type && message === undefined) return undefined;
  const parsed = stack ? parseV8Stack(stack) : undefined;
  const url = text(attrs['url.full'] ?? attrs['http.url'], 2048);
  const method = text(attrs['http.request.method'] ?? attrs['http.method']);
  return {
    kind: 'error',
    eventId: id,
    service: ctx.service,
    source: 'otlp',
    exception: { type: type ?? parsed?.type ?? 'Error', value: ctx.scrubber.text(message ?? parsed?.message ?? '') },
    frames: (parsed?.frames ?? []).slice(-FIELD_LIMITS.frames),
    ...(info.release ? { release: info.release } : {}),
    ...(info.environment ? { environment: info.environment } : {}),
    tags: ctx.scrubber.value(extraTags) as Record<string, string>,
    ...(url ? { request: { method: method ?? 'GET', url: scrubUrl(url, ctx.scrubber) } } : {}),
    receivedAt: ctx.receivedAt,
  };
}

const SPAN_KIND_SERVER = 2;
const STATUS_ERROR = 2;

/**
 * Converts an OTLP trace export (JSON shape): each `exception` span event becomes an error report
 * (type, message and V8 stack from `exception.*`), and server spans become request counts and
 * durations per release. `service.version` is the release and `deployment.environment(.name)` the
 * environment. Resources whose `service.name` names another service than the key's are refused.
 */
export function fromOtlpTraces(body: Json, ctx: OtlpContext): OtlpResult {
  const reports: Array<ErrorReport | RequestReport> = [];
  let rejected = 0;
  for (const rs of list(body['resourceSpans'])) {
    const info = resourceInfo(rs['resource']);
    const spans = list(rs['scopeSpans']).flatMap((ss) => list(ss['spans']));
    if (namesOtherService(info, ctx.service)) {
      rejected += spans.length;
      continue;
    }
    let count = 0;
    let errors = 0;
    let durationMsSum = 0;
    const durations: number[] = [];
    const spanIds: string[] = [];
    for (const span of spans) {
      const traceId = text(span['traceId']) ?? '';
      const spanId = text(span['spanId']) ?? '';
      const spanAttrs = attributes(span['attributes']);
      list(span['events']).forEach((event, index) => {
        if (event['name'] !== 'exception') return;
        const attrs = { ...spanAttrs, ...attributes(event['attributes']) };
        const tags: Record<string, string> = { 'otel.span': text(span['name']) ?? '', ...(traceId ? { 'trace.id': traceId } : {}) };
        const report = errorReport(attrs, info, ctx, ctx.idFrom(`otlp-span-exception|${traceId}|${spanId}|${index}`), tags);
        if (report) reports.push(report);
      });
      if (Number(span['kind']) === SPAN_KIND_SERVER) {
        count += 1;
        spanIds.push(`${traceId}:${spanId}`);
        const status = Number((span['status'] as Json | undefined)?.['code'] ?? 0);
        const httpStatus = Number(spanAttrs['http.response.status_code'] ?? spanAttrs['http.status_code'] ?? 0);
        if (status === STATUS_ERROR || httpStatus >= 500) errors += 1;
        const start = Number(span['startTimeUnixNano'] ?? 0);
        const end = Number(span['endTimeUnixNano'] ?? 0);
        if (end > start) {
          durationMsSum += (end - start) / 1e6;
          durations.push((end - start) / 1e6);
        }
      }
    }
    if (count > 0) {
      reports.push({
        kind: 'requests',
        eventId: ctx.idFrom(`otlp-requests|${createHash('sha256').update(spanIds.join(',')).digest('hex')}`),
        service: ctx.service,
        ...(info.release ? { release: info.release } : {}),
        ...(info.environment ? { environment: info.environment } : {}),
        count,
        errors,
        durationMsSum,
        durationHistogram: histogramOf(durations),
        receivedAt: ctx.receivedAt,
      });
    }
  }
  return { reports, rejected, ...(rejected > 0 ? { rejectedReason: `spans of another service than ${ctx.service} were refused (the ingest key belongs to ${ctx.service})` } : {}) };
}

/**
 * Converts an OTLP logs export (JSON shape): each log record with `exception.*` attributes becomes
 * an error report (the body is the message when `exception.message` is absent).
 */
export function fromOtlpLogs(body: Json, ctx: OtlpContext): OtlpResult {
  const reports: ErrorReport[] = [];
  let rejected = 0;
  for (const rl of list(body['resourceLogs'])) {
    const info = resourceInfo(rl['resource']);
    const records = list(rl['scopeLogs']).flatMap((sl) => list(sl['logRecords']));
    if (namesOtherService(info, ctx.service)) {
      rejected += records.length;
      continue;
    }
    for (const record of records) {
      const attrs = attributes(record['attributes']);
      if (!Object.keys(attrs).some((k) => k.startsWith('exception.'))) continue;
      const bodyValue = anyValue(record['body']);
      const seed = createHash('sha256').update(JSON.stringify([record['timeUnixNano'], record['traceId'], record['spanId'], attrs, bodyValue])).digest('hex');
      const traceId = text(record['traceId']);
      const tags: Record<string, string> = { ...(text(record['severityText']) ? { 'log.severity': text(record['severityText'])! } : {}), ...(traceId ? { 'trace.id': traceId } : {}) };
      const report = errorReport(attrs, info, ctx, ctx.idFrom(`otlp-log|${seed}`), tags, typeof bodyValue === 'string' ? bodyValue : undefined);
      if (report) reports.push(report);
    }
  }
  return { reports, rejected, ...(rejected > 0 ? { rejectedReason: `log records of another service than ${ctx.service} were refused (the ingest key belongs to ${ctx.service})` } : {}) };
}
