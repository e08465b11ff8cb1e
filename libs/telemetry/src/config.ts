import { TelemetryConfigError } from './errors';

/**
 * Where finished spans go: `otlp` (OTLP/HTTP, batched), `console` (stdout), `none` (spans are
 * created so trace context still propagates, but nothing is exported) or `memory` (an in-memory
 * exporter, for tests).
 */
export type ExporterKind = 'otlp' | 'console' | 'none' | 'memory';

/** Options for `startTelemetry`. */
export interface TelemetryOptions {
  /** `service.name` resource attribute, e.g. `antibody-ingest`. Must be non-empty. */
  serviceName: string;
  /** `service.instance.id` resource attribute; unique per process. */
  serviceInstanceId: string;
  exporter: ExporterKind;
  /** OTLP/HTTP traces URL, e.g. `http://localhost:4318/v1/traces`. Used only with `otlp`; when absent the exporter's own default applies. */
  otlpEndpoint?: string;
}

const EXPORTER_KINDS: readonly ExporterKind[] = ['otlp', 'console', 'none', 'memory'];
const ENV_EXPORTER_KINDS = ['otlp', 'console', 'none'] as const;
type EnvExporterKind = (typeof ENV_EXPORTER_KINDS)[number];

/**
 * Reads telemetry options from the environment, following the OpenTelemetry SDK variable names:
 *
 * - `OTEL_TRACES_EXPORTER`: `otlp`, `console` or `none` (case-insensitive, surrounding blanks
 *   ignored); unset or empty means `none`.
 * - `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`: the full traces URL, used as is; otherwise
 *   `OTEL_EXPORTER_OTLP_ENDPOINT` with `/v1/traces` appended. Read only when the exporter is `otlp`.
 *
 * Pure: reads only `env`, never `process.env` behind the caller's back.
 *
 * @throws TelemetryConfigError when the exporter is not one of the accepted values or an endpoint
 *   is not an http(s) URL; the message and `variable` name the offending variable.
 */
export function telemetryOptionsFromEnv(
  env: NodeJS.ProcessEnv,
  serviceName: string,
  serviceInstanceId: string,
): TelemetryOptions {
  const exporter = parseExporter(env['OTEL_TRACES_EXPORTER']);
  const options: TelemetryOptions = { serviceName, serviceInstanceId, exporter };
  if (exporter === 'otlp') {
    const endpoint = otlpEndpointFromEnv(env);
    if (endpoint !== undefined) options.otlpEndpoint = endpoint;
  }
  return options;
}

function parseExporter(raw: string | undefined): EnvExporterKind {
  const value = (raw ?? '').trim().toLowerCase();
  if (value === '') return 'none';
  if ((ENV_EXPORTER_KINDS as readonly string[]).includes(value)) return value as EnvExporterKind;
  throw new TelemetryConfigError(
    'OTEL_TRACES_EXPORTER',
    `OTEL_TRACES_EXPORTER must be one of ${ENV_EXPORTER_KINDS.join(', ')} (got "${raw}"). ` +
      'Set it to "otlp" to send traces to a collector, or unset it to disable exporting.',
  );
}

function otlpEndpointFromEnv(env: NodeJS.ProcessEnv): string | undefined {
  const traces = env['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT']?.trim();
  if (traces) return checkUrl('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', traces);
  const base = env['OTEL_EXPORTER_OTLP_ENDPOINT']?.trim();
  if (base) {
    checkUrl('OTEL_EXPORTER_OTLP_ENDPOINT', base);
    return `${base.replace(/\/+$/, '')}/v1/traces`;
  }
  return undefined;
}

function checkUrl(variable: string, value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch (cause) {
    throw new TelemetryConfigError(
      variable,
      `${variable} must be an http(s) URL such as http://localhost:4318 (got "${value}").`,
      { cause },
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TelemetryConfigError(
      variable,
      `${variable} must use http or https (got "${value}"); the OTLP exporter here speaks OTLP/HTTP.`,
    );
  }
  return value;
}

/** @internal Checks options passed to `startTelemetry` from code (env input is checked above). */
export function validateOptions(options: TelemetryOptions): void {
  if (!EXPORTER_KINDS.includes(options.exporter)) {
    throw new TelemetryConfigError(
      'exporter',
      `Telemetry option "exporter" must be one of ${EXPORTER_KINDS.join(', ')} (got "${String(options.exporter)}").`,
    );
  }
  if (typeof options.serviceName !== 'string' || options.serviceName.trim() === '') {
    throw new TelemetryConfigError('serviceName', 'Telemetry option "serviceName" must be a non-empty string, e.g. "antibody-ingest".');
  }
  if (options.exporter === 'otlp' && options.otlpEndpoint !== undefined) {
    checkUrl('otlpEndpoint', options.otlpEndpoint);
  }
}
