import { capturedCallSchema, type EventData } from '@antibody/contracts';
import type { DurationHistogram } from './latency';
import type { Scrubber } from './scrub';
import { isInApp, parseV8Stack, type Frame } from './stack';

/** Where a report came from. */
export type ReportSource = 'sentry' | 'otlp' | 'native';

/** One error occurrence, normalised and scrubbed: what the intake stores and the processor groups. */
export interface ErrorReport {
  readonly kind: 'error';
  /** The id the client gets back; a uuid. Retrying the same id is accepted once. */
  readonly eventId: string;
  readonly service: string;
  readonly source: ReportSource;
  readonly exception: { type: string; value: string };
  /** Oldest call first. */
  readonly frames: Frame[];
  readonly clientFingerprint?: string[];
  readonly release?: string;
  readonly environment?: string;
  readonly tags: Record<string, string>;
  readonly request?: { method: string; url: string; headers?: Record<string, string>; data?: unknown };
  /** The failing call, as the application named it: the validator makes it again to reproduce the failure. */
  readonly call?: CapturedCall;
  readonly sdk?: { name: string; version: string };
  /** ISO timestamp of acceptance (server clock). */
  readonly receivedAt: string;
}

/** Session health for one release (Sentry `session`/`sessions` items). */
export interface SessionReport {
  readonly kind: 'session';
  readonly eventId: string;
  readonly service: string;
  readonly release: string;
  readonly environment?: string;
  readonly ok: number;
  readonly errored: number;
  readonly crashed: number;
  readonly abnormal: number;
  readonly receivedAt: string;
}

/** What a client dropped before sending (Sentry `client_report`). */
export interface ClientDropReport {
  readonly kind: 'client_report';
  readonly eventId: string;
  readonly service: string;
  readonly discarded: Array<{ reason: string; category: string; quantity: number }>;
  readonly receivedAt: string;
}

/** Request counts and durations for one release (from OTLP server spans and Sentry transactions). */
export interface RequestReport {
  readonly kind: 'requests';
  readonly eventId: string;
  readonly service: string;
  readonly release?: string;
  readonly environment?: string;
  readonly count: number;
  readonly errors: number;
  readonly durationMsSum: number;
  /**
   * The durations as a {@link DurationHistogram} (requests without a measurable duration are left
   * out); absent in reports stored before histograms were recorded.
   */
  readonly durationHistogram?: DurationHistogram;
  readonly receivedAt: string;
}

/** Anything the intake accepts. */
export type IntakeReport = ErrorReport | SessionReport | ClientDropReport | RequestReport;

/** A report that cannot be accepted: the reason is user-facing (one line). */
export class InvalidReportError extends Error {
  override readonly name = 'InvalidReportError';
  readonly code = 'REPORT_INVALID' as const;
}

/** The failing call an application names (see the contract's `capturedCallSchema`). */
export type CapturedCall = NonNullable<EventData<'ErrorRecorded'>['call']>;

/** Size caps applied to untrusted strings and lists. */
export const FIELD_LIMITS = { message: 8192, shortText: 512, contextLine: 1024, frames: 250, contextLines: 10, tags: 100, vars: 50, valueJsonBytes: 16 * 1024, call: 64 * 1024 } as const;

/**
 * A frame's local variables (Sentry's `vars`), at most {@link FIELD_LIMITS.vars} of them, each
 * dropped when its JSON is larger than {@link FIELD_LIMITS.valueJsonBytes}; undefined when none is left.
 */
function frameVars(value: unknown): Record<string, unknown> | undefined {
  const vars = record(value);
  if (!vars) return undefined;
  const out: Record<string, unknown> = {};
  for (const [name, v] of Object.entries(vars).slice(0, FIELD_LIMITS.vars)) {
    const json = JSON.stringify(v);
    if (json !== undefined && json.length <= FIELD_LIMITS.valueJsonBytes) out[name.slice(0, 200)] = v;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/**
 * The failing call an application attached (the native API's `call`, a Sentry event's
 * `contexts.antibody.call`), scrubbed like request data; undefined when absent, malformed or larger
 * than {@link FIELD_LIMITS.call} (a report is never refused for it: the call only helps to reproduce).
 */
export function capturedCall(value: unknown, scrubber: Scrubber): CapturedCall | undefined {
  const parsed = capturedCallSchema.safeParse(value);
  if (!parsed.success || JSON.stringify(parsed.data).length > FIELD_LIMITS.call) return undefined;
  return { ...parsed.data, args: parsed.data.args.map((arg) => scrubber.value(arg, 'args')) as CapturedCall['args'] };
}

function str(value: unknown, max: number = FIELD_LIMITS.shortText): string | undefined {
  if (typeof value === 'string') return value.length > max ? `${value.slice(0, max)}…` : value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

function positiveInt(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : undefined;
}

function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

function stripFileUrl(filename: string): string {
  return filename.startsWith('file://') ? decodeURIComponent(filename.slice('file://'.length)) : filename;
}

/** Converts a Sentry-shaped frame (snake_case) to ours; undefined when it has no file. */
export function frameFromSentry(raw: unknown): Frame | undefined {
  const f = record(raw);
  if (!f) return undefined;
  const filename = str(f['filename'], 1024) ?? str(f['abs_path'], 1024);
  if (filename === undefined || filename === '') return undefined;
  const file = stripFileUrl(filename);
  const lines = (value: unknown): string[] | undefined =>
    Array.isArray(value) ? value.slice(-FIELD_LIMITS.contextLines).map((l) => str(l, FIELD_LIMITS.contextLine) ?? '') : undefined;
  const fn = str(f['function']);
  const lineno = positiveInt(f['lineno']);
  const colno = positiveInt(f['colno']);
  const module = str(f['module']);
  const contextLine = str(f['context_line'], FIELD_LIMITS.contextLine);
  const preContext = lines(f['pre_context']);
  const postContext = lines(f['post_context']);
  const vars = frameVars(f['vars']);
  return {
    filename: file,
    ...(fn && fn !== '?' ? { function: fn } : {}),
    ...(lineno ? { lineno } : {}),
    ...(colno ? { colno } : {}),
    inApp: typeof f['in_app'] === 'boolean' ? f['in_app'] && isInApp(file) : isInApp(file),
    ...(module ? { module } : {}),
    ...(contextLine !== undefined ? { contextLine } : {}),
    ...(preContext ? { preContext } : {}),
    ...(postContext ? { postContext } : {}),
    ...(vars ? { vars } : {}),
  };
}

function stringRecord(value: unknown, max: number = FIELD_LIMITS.tags): Record<string, string> {
  const out: Record<string, string> = {};
  const source = Array.isArray(value) ? Object.fromEntries(value.filter(Array.isArray).map((pair) => [pair[0], pair[1]])) : record(value);
  if (!source) return out;
  for (const [key, v] of Object.entries(source).slice(0, max)) {
    const s = str(v);
    if (s !== undefined) out[key.slice(0, 200)] = s;
  }
  return out;
}

/** The main exception of a Sentry event: the last of `exception.values` (the one thrown last). */
function sentryException(event: Record<string, unknown>): { type: string; value: string; frames: Frame[] } | undefined {
  const exc = event['exception'];
  const values = Array.isArray(exc) ? exc : record(exc)?.['values'];
  if (!Array.isArray(values) || values.length === 0) return undefined;
  const main = record(values[values.length - 1]);
  if (!main) return undefined;
  const type = str(main['type']) || 'Error';
  const value = str(main['value'], FIELD_LIMITS.message) ?? '';
  const frames = record(main['stacktrace'])?.['frames'];
  const parsed = Array.isArray(frames) ? frames.slice(-FIELD_LIMITS.frames).map(frameFromSentry).filter((f): f is Frame => f !== undefined) : [];
  return { type, value, frames: parsed };
}

function sentryMessage(event: Record<string, unknown>): string | undefined {
  const message = event['message'];
  if (typeof message === 'string') return str(message, FIELD_LIMITS.message);
  const formatted = record(message)?.['formatted'] ?? record(event['logentry'])?.['formatted'] ?? record(event['logentry'])?.['message'];
  return str(formatted, FIELD_LIMITS.message);
}

/** Turns a 32-hex Sentry event id or a uuid into a canonical lowercase uuid; undefined otherwise. */
export function canonicalUuid(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const hex = value.replace(/-/g, '').toLowerCase();
  if (!/^[0-9a-f]{32}$/.test(hex)) return undefined;
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Context of one conversion. */
export interface ReportContext {
  readonly service: string;
  readonly receivedAt: string;
  readonly scrubber: Scrubber;
  /** Used when the payload has no valid id of its own. */
  readonly fallbackId: string;
}

/**
 * Normalises and scrubs a Sentry `event` item payload. Keeps the main exception (or the message of
 * a `captureMessage` event as type `Message`), frames (with their local variables, scrubbed),
 * release, environment, tags, request (headers, data, query, cookies scrubbed), the failing call
 * the application attached as `contexts.antibody.call` (scrubbed) and SDK. Drops `user`,
 * `breadcrumbs`, `extra` and the other `contexts`, which carry PII and are not used downstream.
 * @throws InvalidReportError when the payload is not a JSON object or has neither exception nor message.
 */
export function reportFromSentryEvent(payload: unknown, ctx: ReportContext): ErrorReport {
  const event = record(payload);
  if (!event) throw new InvalidReportError('the event payload is not a JSON object');
  const exception = sentryException(event);
  const message = sentryMessage(event);
  if (!exception && message === undefined) throw new InvalidReportError('the event has neither an exception nor a message');
  const { scrubber } = ctx;
  const req = record(event['request']);
  const release = str(event['release'], 200);
  const environment = str(event['environment'], 200);
  const fingerprint = Array.isArray(event['fingerprint']) ? event['fingerprint'].map((p) => str(p) ?? '').filter((p) => p !== '').slice(0, 20) : undefined;
  const sdk = record(event['sdk']);
  const sdkName = str(sdk?.['name']);
  const sdkVersion = str(sdk?.['version']);
  const tags = stringRecord(event['tags']);
  const url = str(req?.['url'], 2048);
  let request: ErrorReport['request'];
  if (req && url !== undefined) {
    const query = str(req['query_string'], 2048);
    const fullUrl = query ? `${url}${url.includes('?') ? '&' : '?'}${query}` : url;
    const headers = stringRecord(req['headers']);
    request = {
      method: str(req['method']) || 'GET',
      url: scrubUrl(fullUrl, scrubber),
      ...(Object.keys(headers).length > 0 ? { headers: scrubber.value(headers) as Record<string, string> } : {}),
      ...(req['data'] !== undefined ? { data: scrubber.value(req['data'], 'data') } : {}),
    };
  }
  const call = capturedCall(record(record(event['contexts'])?.['antibody'])?.['call'], scrubber);
  return {
    kind: 'error',
    eventId: canonicalUuid(event['event_id']) ?? ctx.fallbackId,
    service: ctx.service,
    source: 'sentry',
    exception: {
      type: exception?.type ?? 'Message',
      value: scrubber.text(exception?.value ?? message ?? ''),
    },
    frames: (exception?.frames ?? []).map((frame) => scrubFrame(frame, scrubber)),
    ...(fingerprint && fingerprint.length > 0 ? { clientFingerprint: fingerprint } : {}),
    ...(release ? { release } : {}),
    ...(environment ? { environment } : {}),
    tags: scrubber.value(tags) as Record<string, string>,
    ...(request ? { request } : {}),
    ...(call ? { call } : {}),
    ...(sdkName && sdkVersion ? { sdk: { name: sdkName, version: sdkVersion } } : {}),
    receivedAt: ctx.receivedAt,
  };
}

/** Removes secrets from a URL: user:password and the values of sensitive query parameters. */
export function scrubUrl(url: string, scrubber: Scrubber): string {
  const [base = '', query] = url.split('?', 2) as [string, string | undefined];
  const cleanBase = scrubber.text(base);
  if (query === undefined) return cleanBase;
  const params = query.split('&').map((pair) => {
    const [key = '', value] = pair.split('=', 2) as [string, string | undefined];
    if (value === undefined) return key;
    const scrubbed = scrubber.value(value, decodeSafe(key));
    return `${key}=${typeof scrubbed === 'string' ? scrubbed : ''}`;
  });
  return `${cleanBase}?${params.join('&')}`;
}

function decodeSafe(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function scrubFrame(frame: Frame, scrubber: Scrubber): Frame {
  return {
    ...frame,
    ...(frame.contextLine !== undefined ? { contextLine: scrubber.text(frame.contextLine) } : {}),
    ...(frame.preContext ? { preContext: frame.preContext.map(scrubber.text) } : {}),
    ...(frame.postContext ? { postContext: frame.postContext.map(scrubber.text) } : {}),
    ...(frame.vars ? { vars: scrubber.value(frame.vars, 'vars') as Record<string, unknown> } : {}),
  };
}

/**
 * Normalises a Sentry `session` item or `sessions` aggregate into per-release health counts.
 * Returns undefined when the payload has no release (Sentry drops those too).
 */
export function reportFromSentrySession(type: 'session' | 'sessions', payload: unknown, ctx: Omit<ReportContext, 'scrubber'>): SessionReport | undefined {
  const body = record(payload);
  if (!body) throw new InvalidReportError(`the ${type} payload is not a JSON object`);
  const attrs = record(body['attrs']) ?? {};
  const release = str(attrs['release'] ?? body['release'], 200);
  if (!release) return undefined;
  const environment = str(attrs['environment'] ?? body['environment'], 200);
  const counts = { ok: 0, errored: 0, crashed: 0, abnormal: 0 };
  const n = (value: unknown): number => (typeof value === 'number' && Number.isInteger(value) && value > 0 ? Math.min(value, 1_000_000) : 0);
  if (type === 'session') {
    // Only a session's final update counts it; `init: true` starts it. Status `exited` = ok.
    const status = str(body['status']);
    const errors = n(body['errors']);
    if (status === 'crashed') counts.crashed = 1;
    else if (status === 'abnormal') counts.abnormal = 1;
    else if (status === 'exited') {
      if (errors > 0) counts.errored = 1;
      else counts.ok = 1;
    } else return undefined;
  } else {
    const aggregates = Array.isArray(body['aggregates']) ? body['aggregates'] : [];
    for (const raw of aggregates.slice(0, 1000)) {
      const a = record(raw);
      if (!a) continue;
      counts.ok += n(a['exited']);
      counts.errored += n(a['errored']);
      counts.crashed += n(a['crashed']);
      counts.abnormal += n(a['abnormal']);
    }
    if (counts.ok + counts.errored + counts.crashed + counts.abnormal === 0) return undefined;
  }
  return {
    kind: 'session',
    eventId: ctx.fallbackId,
    service: ctx.service,
    release,
    ...(environment ? { environment } : {}),
    ...counts,
    receivedAt: ctx.receivedAt,
  };
}

/** Normalises a Sentry `client_report` item; undefined when it reports nothing dropped. */
export function reportFromClientReport(payload: unknown, ctx: Omit<ReportContext, 'scrubber'>): ClientDropReport | undefined {
  const body = record(payload);
  if (!body) throw new InvalidReportError('the client_report payload is not a JSON object');
  const discarded: ClientDropReport['discarded'] = [];
  const lists = [body['discarded_events'], body['rate_limited_events'], body['filtered_events'], body['filtered_sampling_events']];
  for (const list of lists) {
    if (!Array.isArray(list)) continue;
    for (const raw of list.slice(0, 200)) {
      const d = record(raw);
      const quantity = d && typeof d['quantity'] === 'number' && Number.isInteger(d['quantity']) && d['quantity'] > 0 ? d['quantity'] : 0;
      if (!d || quantity === 0) continue;
      discarded.push({ reason: str(d['reason'], 100) ?? 'unknown', category: str(d['category'], 100) ?? 'unknown', quantity });
    }
  }
  if (discarded.length === 0) return undefined;
  return { kind: 'client_report', eventId: ctx.fallbackId, service: ctx.service, discarded, receivedAt: ctx.receivedAt };
}

/** Body of the native `POST /v1/errors` API (validated by its JSON schema before this). */
export interface NativeErrorBody {
  type?: string;
  message: string;
  stack?: string;
  release?: string;
  environment?: string;
  fingerprint?: string[];
  tags?: Record<string, string>;
  request?: { method?: string; url: string; headers?: Record<string, string>; data?: unknown };
  appRoot?: string;
  eventId?: string;
  call?: unknown;
}

/**
 * Normalises a native error report: the stack string is parsed with the V8 parser; `type` defaults
 * to the stack's header type, then `Error`.
 */
export function reportFromNative(body: NativeErrorBody, ctx: ReportContext): ErrorReport {
  const parsed = body.stack ? parseV8Stack(body.stack, body.appRoot) : undefined;
  const { scrubber } = ctx;
  return {
    kind: 'error',
    eventId: canonicalUuid(body.eventId) ?? ctx.fallbackId,
    service: ctx.service,
    source: 'native',
    exception: { type: str(body.type) || parsed?.type || 'Error', value: scrubber.text(str(body.message, FIELD_LIMITS.message) ?? '') },
    frames: (parsed?.frames ?? []).slice(-FIELD_LIMITS.frames),
    ...(body.fingerprint && body.fingerprint.length > 0 ? { clientFingerprint: body.fingerprint.slice(0, 20) } : {}),
    ...(body.release ? { release: body.release } : {}),
    ...(body.environment ? { environment: body.environment } : {}),
    tags: scrubber.value(stringRecord(body.tags)) as Record<string, string>,
    ...(body.request
      ? {
          request: {
            method: body.request.method ?? 'GET',
            url: scrubUrl(body.request.url, scrubber),
            ...(body.request.headers ? { headers: scrubber.value(stringRecord(body.request.headers)) as Record<string, string> } : {}),
            ...(body.request.data !== undefined ? { data: scrubber.value(body.request.data, 'data') } : {}),
          },
        }
      : {}),
    ...withCall(body.call, scrubber),
    receivedAt: ctx.receivedAt,
  };
}

function withCall(value: unknown, scrubber: Scrubber): { call?: CapturedCall } {
  const call = value === undefined ? undefined : capturedCall(value, scrubber);
  return call ? { call } : {};
}
