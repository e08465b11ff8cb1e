import { activeTraceId } from '@antibody/telemetry';
import { trace } from '@opentelemetry/api';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { Params } from 'nestjs-pino';
import pino, { type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import { serviceDisplayName, type LogLevel } from './config';

/**
 * Paths pino replaces with `[redacted]`: credentials in request headers (Authorization, Sentry's
 * X-Sentry-Auth, cookies, API keys) and cookies set in responses. Request bodies are never logged.
 */
export const REDACTED_LOG_PATHS: readonly string[] = [
  'req.headers.authorization',
  'req.headers["proxy-authorization"]',
  'req.headers["x-sentry-auth"]',
  'req.headers["x-api-key"]',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
];

/**
 * The pino `mixin`: adds `trace_id` and `span_id` of the active OpenTelemetry span to every log
 * line written while a span is active, and nothing otherwise. Never throws.
 */
export function traceLogMixin(): { trace_id?: string; span_id?: string } {
  try {
    const traceId = activeTraceId();
    if (traceId === undefined) return {};
    const spanId = trace.getActiveSpan()?.spanContext().spanId;
    return spanId === undefined ? { trace_id: traceId } : { trace_id: traceId, span_id: spanId };
  } catch {
    return {};
  }
}

/** Options for {@link createPlatformLogger}. */
export interface PlatformLoggerOptions {
  /** Service name (`ingest`); logged as `service: "antibody-ingest"`. */
  service: string;
  /** Logged as `instance`. */
  instanceId: string;
  level: LogLevel;
  /** Where lines go; stdout by default (tests pass a stream to capture them). */
  destination?: DestinationStream;
}

/**
 * Creates the process's JSON logger: `level` as a label, ISO `time`, base fields `service`,
 * `instance` and `pid`, `trace_id`/`span_id` from the active span ({@link traceLogMixin}), and
 * credentials redacted ({@link REDACTED_LOG_PATHS}).
 */
export function createPlatformLogger(options: PlatformLoggerOptions): Logger {
  const config: LoggerOptions = {
    level: options.level,
    base: { service: serviceDisplayName(options.service), instance: options.instanceId, pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    mixin: traceLogMixin,
    redact: { paths: [...REDACTED_LOG_PATHS], censor: '[redacted]' },
  };
  return options.destination ? pino(config, options.destination) : pino(config);
}

/** The request as logged: no body, no query string (Sentry SDKs put their key there). */
function serializeRequest(req: { id?: unknown; method?: string; url?: string; headers?: unknown; remoteAddress?: string }): object {
  return {
    id: req.id,
    method: req.method,
    url: (req.url ?? '').split('?')[0],
    headers: req.headers,
    remoteAddress: req.remoteAddress,
  };
}

const QUIET_PATHS = new Set(['/health', '/health/live', '/health/ready', '/metrics']);

/**
 * nestjs-pino parameters around an existing platform logger: one line per completed request
 * (the `/health` probes and `/metrics` are not logged, to keep probes out of the logs), request ids from
 * `X-Request-Id` or a fresh UUID, 5xx at `error` and 4xx at `warn`.
 */
export function pinoHttpParams(logger: Logger): Params {
  return {
    pinoHttp: {
      logger,
      genReqId: (req: IncomingMessage, res: ServerResponse) => {
        const given = req.headers['x-request-id'];
        const id = typeof given === 'string' && /^[\w.:-]{1,128}$/.test(given) ? given : randomUUID();
        res.setHeader('x-request-id', id);
        return id;
      },
      autoLogging: { ignore: (req: IncomingMessage) => QUIET_PATHS.has((req.url ?? '').split('?')[0] ?? '') },
      customLogLevel: (_req: IncomingMessage, res: ServerResponse, err?: Error) =>
        err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info',
      serializers: { req: serializeRequest },
      quietReqLogger: true,
    },
  };
}
