import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { SpanKind, SpanStatusCode, type Span } from '@opentelemetry/api';
import { deterministicEventId } from '@antibody/event-store';
import { currentTraceCarrier, tracer } from '@antibody/telemetry';
import { EnvelopeError, EnvelopeParser, parseJsonObject, type EnvelopeItem, type ItemProblem } from '../domain/envelope';
import { RateLimiter } from '../domain/rate-limit';
import {
  InvalidReportError,
  reportFromClientReport,
  reportFromSentryEvent,
  reportFromSentrySession,
  type IntakeReport,
  type ReportSource,
} from '../domain/report';
import { requestFromSentryTransaction, requestsFromSentrySpans } from '../domain/sentry-requests';
import { createScrubber, type Scrubber } from '../domain/scrub';
import { BodyError, readBody } from './body';
import type { IngestSettings } from './config';
import { IntakeUnavailableError, type IntakeRow, type IntakeWriter } from './intake';
import type { KnownKey, Registry } from './registry';

/** An HTTP answer. */
export interface Reply {
  readonly status: number;
  readonly body: unknown;
  readonly headers?: Record<string, string>;
}

/** A route of the intake API: given the authenticated key and the request, produces the reports. */
export interface IntakeRoute {
  /** Span name, e.g. `POST /v1/logs`. */
  readonly name: string;
  /** Where the reports of this route come from (the `source` label of the accepted-reports metric). */
  readonly source?: ReportSource;
  /** The one method served (default POST). Only POST routes spend the key's rate limit. */
  readonly method?: 'GET' | 'POST';
  handle(req: IncomingMessage, url: URL, auth: AuthContext): Promise<Reply>;
}

/** Who is sending, once authenticated. */
export interface AuthContext {
  readonly key: KnownKey;
  readonly scrubber: Scrubber;
  /** Stores reports durably; resolves after commit (see IntakeWriter). */
  store(reports: readonly IntakeReport[]): Promise<void>;
}

/** What the handler reports to (Prometheus in the service, plain functions in tests). */
export interface IntakeMetrics {
  accepted(source: string, kind: string, count: number): void;
  rejected(source: string, reason: string): void;
  /** One request answered: its method, route (the route's name, never the raw path), status and duration. */
  served(method: string, route: string, status: number, seconds: number): void;
}

const JSON_HEADERS = { 'content-type': 'application/json' };

/** A JSON error answer: `{error: <code>, detail: <one readable line>}`. */
export function reply(status: number, code: string, message: string, headers?: Record<string, string>): Reply {
  return { status, body: { error: code, detail: message }, ...(headers ? { headers } : {}) };
}

/** The ingest key presented by the request, without reading the body; undefined when none. */
export function keyFromRequest(req: IncomingMessage, url: URL): string | undefined {
  const sentryAuth = req.headers['x-sentry-auth'];
  if (typeof sentryAuth === 'string') {
    const match = /sentry_key\s*=\s*([^,\s]+)/.exec(sentryAuth);
    if (match?.[1]) return match[1];
  }
  const query = url.searchParams.get('sentry_key');
  if (query) return query;
  const header = req.headers['x-antibody-key'];
  if (typeof header === 'string' && header.trim() !== '') return header.trim();
  const authorization = req.headers['authorization'];
  if (typeof authorization === 'string') {
    const bearer = /^(?:Bearer|DSN)\s+(\S+)/i.exec(authorization.trim());
    if (bearer?.[1]) return keyFromDsn(bearer[1]) ?? bearer[1];
  }
  return undefined;
}

/** The public key of a DSN (`http://<key>@host/<project>`); undefined when it is not one. */
export function keyFromDsn(dsn: unknown): string | undefined {
  if (typeof dsn !== 'string') return undefined;
  try {
    const parsed = new URL(dsn);
    return parsed.username ? decodeURIComponent(parsed.username) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The intake HTTP front: authentication (ingest keys), per-key rate limits, body limits and
 * decompression, then the route; every answer is JSON and every failure a clear 4xx/5xx — a bad
 * request can never crash the process. Served straight from node:http (ahead of Express, whose
 * body parsers would consume JSON bodies with their own limits) for throughput and exact control
 * of how bodies are read.
 */
export class IntakeHttp {
  private readonly limiter = new RateLimiter();
  private readonly scrubbers = new Map<string, { config: string; scrubber: Scrubber }>();
  private readonly routes: Array<{ pattern: RegExp; route: IntakeRoute }> = [];

  constructor(
    private readonly settings: IngestSettings,
    private readonly registry: Registry,
    private readonly writer: IntakeWriter,
    private readonly metrics: IntakeMetrics,
    private readonly now: () => number = Date.now,
  ) {
    this.routes.push({ pattern: /^\/api\/\d+\/envelope\/?$/, route: new EnvelopeRoute(settings) });
  }

  /** Adds a route (OTLP, native API) served with the same authentication and limits. */
  addRoute(pattern: RegExp, route: IntakeRoute): void {
    this.routes.push({ pattern, route });
  }

  /** Whether this request is for the intake (the rest goes to Nest). */
  matches(req: IncomingMessage): boolean {
    const path = (req.url ?? '/').split('?', 1)[0]!;
    return this.routes.some((r) => r.pattern.test(path));
  }

  /** Serves one intake request; never throws. */
  async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const url = new URL(req.url ?? '/', 'http://ingest.local');
    const entry = this.routes.find((r) => r.pattern.test(url.pathname));
    const name = entry?.route.name ?? `${req.method ?? 'GET'} ${url.pathname}`;
    await tracer().startActiveSpan(name, { kind: SpanKind.SERVER, root: true, attributes: { 'http.request.method': req.method ?? '', 'url.path': url.pathname } }, async (span: Span) => {
      let answer: Reply;
      try {
        answer = entry ? await this.route(req, url, entry.route) : reply(404, 'not_found', `no intake route ${url.pathname}`);
      } catch (error) {
        answer = reply(500, 'internal_error', 'ingest failed to handle the request; it was not stored, retry later');
        span.recordException(error as Error);
      }
      span.setAttribute('http.response.status_code', answer.status);
      if (answer.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
      if (answer.status >= 400) this.metrics.rejected(entry?.route.name ?? 'unknown', String((answer.body as { error?: string } | undefined)?.error ?? answer.status));
      send(res, answer, req);
      this.metrics.served(req.method ?? 'GET', entry?.route.name ?? 'unknown', answer.status, (performance.now() - started) / 1000);
    });
  }

  private async route(req: IncomingMessage, url: URL, route: IntakeRoute): Promise<Reply> {
    const method = route.method ?? 'POST';
    if (req.method !== method) return reply(405, 'method_not_allowed', `use ${method} for ${url.pathname}`, { allow: method });
    const presented = keyFromRequest(req, url);
    let deferredAuth = false;
    let key: KnownKey | undefined;
    if (presented !== undefined) {
      const checked = await this.authenticate(presented);
      if ('status' in checked) return checked;
      key = checked;
    } else if (route instanceof EnvelopeRoute) {
      deferredAuth = true; // the envelope header's `dsn` may carry the key
    } else {
      return reply(401, 'missing_key', 'no ingest key: send X-Sentry-Auth (sentry_key=…), ?sentry_key=…, Authorization: Bearer <key> or X-Antibody-Key');
    }
    if (key && method === 'POST') {
      const limited = this.rateLimit(key);
      if (limited) return limited;
    }
    const auth = (k: KnownKey): AuthContext => ({
      key: k,
      scrubber: this.scrubberFor(k.project),
      store: (reports) => this.store(reports, route.source ?? 'unknown'),
    });
    if (deferredAuth) {
      return (route as EnvelopeRoute).handleWithDeferredAuth(req, url, async (dsnKey) => {
        if (dsnKey === undefined) return reply(401, 'missing_key', 'no ingest key: send X-Sentry-Auth (sentry_key=…), ?sentry_key=…, or a dsn in the envelope header');
        const checked = await this.authenticate(dsnKey);
        if ('status' in checked) return checked;
        return this.rateLimit(checked) ?? auth(checked);
      });
    }
    return route.handle(req, url, auth(key!));
  }

  private async authenticate(secret: string): Promise<KnownKey | Reply> {
    let key: KnownKey | undefined;
    try {
      key = await this.registry.key(secret);
    } catch {
      return reply(503, 'store_unavailable', 'ingest cannot check keys right now; retry later', { 'retry-after': String(this.settings.INGEST_RETRY_AFTER_SECONDS) });
    }
    if (!key) return reply(403, 'unknown_key', 'the ingest key is not known; create one with `antibody keys create --project <service>`');
    if (key.revoked) return reply(403, 'revoked_key', 'the ingest key was revoked; create a new one with `antibody keys create`');
    if (this.registry.service(key.project)?.deregistered) return reply(403, 'service_deregistered', `service ${key.project} is deregistered`);
    return key;
  }

  private rateLimit(key: KnownKey): Reply | undefined {
    const perMinute = key.rateLimitPerMinute ?? this.settings.INGEST_RATE_LIMIT_PER_MINUTE;
    const decision = this.limiter.take(key.keyId, perMinute, this.now());
    if (decision.allowed) return undefined;
    const seconds = String(decision.retryAfterSeconds);
    return reply(429, 'rate_limited', `this key may send ${perMinute} reports per minute; retry in ${seconds}s`, {
      'retry-after': seconds,
      'x-sentry-rate-limits': `${seconds}::key`,
    });
  }

  private scrubberFor(project: string): Scrubber {
    const config = this.registry.service(project)?.scrubbing ?? {};
    const text = JSON.stringify(config);
    const cached = this.scrubbers.get(project);
    if (cached && cached.config === text) return cached.scrubber;
    const scrubber = createScrubber(config);
    this.scrubbers.set(project, { config: text, scrubber });
    return scrubber;
  }

  private async store(reports: readonly IntakeReport[], source: string): Promise<void> {
    const carrier = currentTraceCarrier();
    const rows: IntakeRow[] = reports.map((report) => ({
      report,
      ...(carrier.traceparent ? { traceparent: carrier.traceparent } : {}),
      ...(carrier.tracestate ? { tracestate: carrier.tracestate } : {}),
    }));
    await this.writer.write(rows);
    for (const report of reports) this.metrics.accepted(report.kind === 'error' ? report.source : source, report.kind, 1);
  }
}

/** Answers `IntakeUnavailableError` with 503 + Retry-After: nothing of the request was stored. */
export function unavailable(settings: IngestSettings): Reply {
  return reply(503, 'store_unavailable', 'ingest cannot store reports right now (Postgres unavailable); nothing was accepted, retry later', {
    'retry-after': String(settings.INGEST_RETRY_AFTER_SECONDS),
    'x-sentry-rate-limits': `${settings.INGEST_RETRY_AFTER_SECONDS}::organization`,
  });
}

/** Maps a body-reading failure to its answer. */
export function bodyFailure(error: unknown): Reply | undefined {
  if (error instanceof BodyError) return reply(error.status, error.code, error.message);
  return undefined;
}

function send(res: ServerResponse, answer: Reply, req: IncomingMessage): void {
  if (res.headersSent || res.destroyed) return;
  const body = Buffer.isBuffer(answer.body) ? answer.body : JSON.stringify(answer.body);
  res.writeHead(answer.status, { ...JSON_HEADERS, 'content-length': String(Buffer.byteLength(body)), ...(answer.headers ?? {}) });
  res.end(body);
  // A request whose body we stopped reading (413) must not keep the connection half-read.
  if (!req.complete && answer.status >= 400) res.once('finish', () => req.destroy());
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** `POST /api/<project>/envelope/`: the Sentry envelope endpoint. */
export class EnvelopeRoute implements IntakeRoute {
  readonly name = 'POST /api/:projectId/envelope/';
  readonly source = 'sentry';

  constructor(private readonly settings: IngestSettings) {}

  handle(req: IncomingMessage, url: URL, auth: AuthContext): Promise<Reply> {
    return this.handleWithDeferredAuth(req, url, async () => auth);
  }

  /**
   * Reads the envelope as it streams in, then authenticates with `authorize(dsnKey)` (the key found
   * in the envelope header, for requests that carried none elsewhere), converts the items and
   * stores the accepted reports. Valid items are stored even when others are rejected (the answer
   * is then 400 listing the rejected ones, or 413 when they were all too large).
   */
  async handleWithDeferredAuth(req: IncomingMessage, _url: URL, authorize: (dsnKey: string | undefined) => Promise<AuthContext | Reply>): Promise<Reply> {
    const parser = new EnvelopeParser({ maxItemBytes: this.settings.INGEST_MAX_ITEM_BYTES, maxHeaderBytes: 64 * 1024, maxItems: 1000 });
    try {
      await readBody(req, { maxBodyBytes: this.settings.INGEST_MAX_BODY_BYTES, maxDecompressedBytes: this.settings.INGEST_MAX_DECOMPRESSED_BYTES }, (chunk) => parser.push(chunk));
    } catch (error) {
      if (error instanceof EnvelopeError) return reply(400, error.code, error.message);
      const failed = bodyFailure(error);
      if (failed) return failed;
      throw error;
    }
    let envelope;
    try {
      envelope = parser.end();
    } catch (error) {
      if (error instanceof EnvelopeError) return reply(400, error.code, error.message);
      throw error;
    }
    const auth = await authorize(keyFromDsn(envelope.header['dsn']));
    if ('status' in auth) return auth;

    const receivedAt = new Date().toISOString();
    const headerId = typeof envelope.header['event_id'] === 'string' ? envelope.header['event_id'] : undefined;
    const problems: ItemProblem[] = [...envelope.problems];
    const reports: IntakeReport[] = [];
    for (const item of envelope.items) {
      try {
        reports.push(...this.convert(item, auth, receivedAt, headerId, envelope.header));
      } catch (error) {
        if (!(error instanceof InvalidReportError)) throw error;
        problems.push({ index: item.index, type: item.type, code: 'item_header_invalid', message: error.message });
      }
    }
    try {
      await auth.store(reports);
    } catch (error) {
      if (error instanceof IntakeUnavailableError) return unavailable(this.settings);
      throw error;
    }
    const firstEvent = reports.find((r) => r.kind === 'error');
    const id = (firstEvent?.eventId ?? headerId ?? randomUUID()).replace(/-/g, '');
    if (problems.length === 0) return { status: 200, body: { id } };
    problems.sort((a, b) => a.index - b.index);
    const allTooLarge = reports.length === 0 && problems.every((p) => p.code === 'item_too_large');
    return {
      status: allTooLarge ? 413 : 400,
      body: {
        id,
        error: allTooLarge ? 'item_too_large' : 'invalid_items',
        detail: `${problems.length} item(s) rejected, ${reports.length} accepted: ${problems.map((p) => `item ${p.index}${p.type ? ` (${p.type})` : ''}: ${p.message}`).join('; ')}`,
        accepted: reports.length,
        rejected: problems,
      },
    };
  }

  private convert(item: EnvelopeItem, auth: AuthContext, receivedAt: string, headerId: string | undefined, envelopeHeader: Record<string, unknown>): IntakeReport[] {
    if (!HANDLED_ITEMS.has(item.type)) return []; // unknown and unused types (attachments, profiles…) are skipped
    let text: string;
    try {
      text = utf8.decode(item.payload);
    } catch {
      throw new InvalidReportError(`the ${item.type} payload is not valid UTF-8`);
    }
    const payload = parseJsonObject(text);
    if (payload === undefined) throw new InvalidReportError(`the ${item.type} payload is not a JSON object`);
    const headerUuid = headerId === undefined ? undefined : toUuid(headerId);
    // Items of an envelope with an id get ids derived from it, so a retried envelope is stored once.
    const itemId = (n = 0): string => (headerUuid ? deterministicEventId(headerUuid, n === 0 ? 'sentry-envelope-item' : `sentry-envelope-item-${n}`, item.index) : randomUUID());
    const service = auth.key.project;
    switch (item.type) {
      case 'event':
        // The first item of an envelope carries the envelope's own id (what Sentry SDKs send).
        return [reportFromSentryEvent(payload, { service, receivedAt, scrubber: auth.scrubber, fallbackId: headerUuid && item.index === 0 ? headerUuid : itemId() })];
      case 'transaction': {
        const report = requestFromSentryTransaction(payload, { service, receivedAt, fallbackId: headerUuid && item.index === 0 ? headerUuid : itemId() });
        return report ? [report] : [];
      }
      case 'span':
        return requestsFromSentrySpans(payload, envelopeHeader['trace'], { service, receivedAt, idFor: itemId });
      case 'session':
      case 'sessions': {
        const report = reportFromSentrySession(item.type, payload, { service, receivedAt, fallbackId: itemId() });
        return report ? [report] : [];
      }
      case 'client_report': {
        const report = reportFromClientReport(payload, { service, receivedAt, fallbackId: itemId() });
        return report ? [report] : [];
      }
      default:
        return [];
    }
  }
}

const HANDLED_ITEMS = new Set(['event', 'transaction', 'span', 'session', 'sessions', 'client_report']);

function toUuid(hex: string): string | undefined {
  const h = hex.replace(/-/g, '').toLowerCase();
  return /^[0-9a-f]{32}$/.test(h) ? `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}` : undefined;
}

