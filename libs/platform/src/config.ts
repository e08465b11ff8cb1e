import { hostname } from 'node:os';
import { z } from 'zod';

/** The Antibody services and the HTTP port each listens on when `PORT` is unset. */
export const DEFAULT_SERVICE_PORTS = {
  ingest: 4100,
  analyzer: 4101,
  patcher: 4102,
  validator: 4103,
  deployer: 4104,
  console: 4105,
} as const;

/** A known Antibody service name, e.g. `ingest`. */
export type ServiceName = keyof typeof DEFAULT_SERVICE_PORTS;

/**
 * The name a service goes by in logs, metrics and traces: `antibody-<service>`.
 * A name that already carries the prefix is returned unchanged.
 */
export function serviceDisplayName(service: string): string {
  return service.startsWith('antibody-') ? service : `antibody-${service}`;
}

/**
 * Thrown when a service's environment is missing a setting or holds a bad one. Raised only at
 * start-up by {@link loadConfig}. The message is one line naming every offending variable and the
 * value it had, e.g. `antibody-ingest: invalid configuration: PORT must be an integer between 1
 * and 65535 (got "abc")`; `variables` lists the names for programmatic use. `bootstrapService`
 * prints the message (never a stack) and exits with code 78 (EX_CONFIG).
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly code = 'CONFIG_INVALID' as const;
  /** The environment variables that were wrong, in the order found. */
  readonly variables: readonly string[];

  constructor(message: string, variables: readonly string[], options?: { cause?: unknown }) {
    super(message, options);
    this.variables = variables;
  }
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
/** A pino log level name. */
export type LogLevel = (typeof LOG_LEVELS)[number];

const TRACE_EXPORTERS = ['otlp', 'console', 'none'] as const;
const SAFE_IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;
const NATS_SERVER = /^((nats|tls|ws|wss):\/\/)?[^\s,/]+(:\d{1,5})?\/?$/;

function isUrlWithProtocol(value: string, protocols: readonly string[]): boolean {
  try {
    return protocols.includes(new URL(value).protocol);
  } catch {
    return false;
  }
}

/**
 * The settings every Antibody service reads from its environment. Extend it (`.extend({...})`)
 * for service-specific settings and pass the result to {@link loadConfig}.
 *
 * - `DATABASE_URL` (required): `postgres://` or `postgresql://` URL of the event store database.
 * - `NATS_URL` (optional): NATS server(s), comma-separated; unset means the embedded store-log
 *   transport (no NATS).
 * - `PORT`: HTTP port, 1..65535; defaults per service (ingest 4100 … deployer 4104, console 4105).
 * - `SERVICE_INSTANCE_ID`: defaults to `<hostname>-<pid>`.
 * - `LOG_LEVEL`: a pino level, default `info`.
 * - `OTEL_TRACES_EXPORTER` (`otlp` | `console` | `none`, default `none`) and
 *   `OTEL_EXPORTER_OTLP_ENDPOINT` (http(s) URL): read by the telemetry library, checked here.
 * - `ANTIBODY_SCHEMA`: Postgres schema of the event store, a lower-case SQL identifier, default
 *   `antibody`.
 *
 * Empty variables count as unset.
 */
export const baseServiceConfigSchema = z.object({
  DATABASE_URL: z
    .string({ error: 'is required (a postgres:// URL, e.g. postgres://postgres@127.0.0.1:5432/postgres)' })
    .refine((v) => isUrlWithProtocol(v, ['postgres:', 'postgresql:']), {
      error: 'must be a postgres:// or postgresql:// URL',
    }),
  NATS_URL: z
    .string()
    .refine((v) => v.split(',').every((s) => NATS_SERVER.test(s.trim())), {
      error: 'must be a NATS server URL such as nats://127.0.0.1:4222 (comma-separated for several)',
    })
    .optional(),
  PORT: z
    .string({ error: 'is required (the HTTP port, 1..65535)' })
    .refine((v) => /^\d+$/.test(v.trim()) && Number(v) >= 1 && Number(v) <= 65535, {
      error: 'must be an integer between 1 and 65535',
    })
    .transform((v) => Number(v)),
  SERVICE_INSTANCE_ID: z
    .string()
    .regex(/^[\w.:-]{1,128}$/, { error: 'must be 1-128 letters, digits, "_", ".", ":" or "-"' })
    .default(() => `${hostname()}-${process.pid}`),
  LOG_LEVEL: z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` }).default('info'),
  OTEL_TRACES_EXPORTER: z
    .string()
    .transform((v) => v.trim().toLowerCase())
    .pipe(z.enum(TRACE_EXPORTERS, { error: `must be one of ${TRACE_EXPORTERS.join(', ')}` }))
    .default('none'),
  OTEL_EXPORTER_OTLP_ENDPOINT: z
    .string()
    .refine((v) => isUrlWithProtocol(v, ['http:', 'https:']), {
      error: 'must be an http(s) URL such as http://localhost:4318',
    })
    .optional(),
  ANTIBODY_SCHEMA: z
    .string()
    .regex(SAFE_IDENTIFIER, {
      error: 'must be a lower-case SQL identifier (letters, digits, "_", not starting with a digit, at most 63 characters)',
    })
    .default('antibody'),
});

/** The validated settings shared by every service (see {@link baseServiceConfigSchema}). */
export type BaseServiceConfig = z.infer<typeof baseServiceConfigSchema>;

/** Hides credentials in a rejected value before it is echoed in an error message. */
function printable(variable: string, raw: string): string {
  if (/PASSWORD|SECRET|TOKEN|KEY/i.test(variable)) return '<redacted>';
  return raw.replace(/\/\/[^@/\s]*@/g, '//***@');
}

/**
 * Validates a service's environment against `schema` and returns the typed result.
 *
 * Before validation, empty variables are treated as unset and `PORT` gets the service's default
 * (see {@link DEFAULT_SERVICE_PORTS}) when unset. Pure apart from reading `env`, which it never
 * modifies.
 *
 * @param schema usually {@link baseServiceConfigSchema} or an extension of it.
 * @param env the environment to read; `process.env` by default (pass `undefined` to use it).
 * @param service the service name (`ingest`), used for the default port and the message prefix.
 * @throws ConfigError with a one-line message naming each bad or missing variable.
 */
export function loadConfig<T>(schema: z.ZodType<T>, env: NodeJS.ProcessEnv = process.env, service: string): T {
  const input: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (value !== undefined && value !== '') input[key] = value;
  }
  const defaultPort = (DEFAULT_SERVICE_PORTS as Record<string, number>)[service.replace(/^antibody-/, '')];
  if (input['PORT'] === undefined && defaultPort !== undefined) input['PORT'] = String(defaultPort);

  const result = schema.safeParse(input);
  if (result.success) return result.data;

  const variables: string[] = [];
  const problems: string[] = [];
  for (const issue of result.error.issues) {
    const variable = issue.path.map(String).join('.') || '(environment)';
    const raw = input[variable];
    variables.push(variable);
    problems.push(`${variable} ${issue.message}${raw === undefined ? '' : ` (got ${JSON.stringify(printable(variable, raw))})`}`);
  }
  const message = `${serviceDisplayName(service)}: invalid configuration: ${problems.join('; ')}`;
  throw new ConfigError(message.replace(/[\r\n]+/g, ' '), variables, { cause: result.error });
}
