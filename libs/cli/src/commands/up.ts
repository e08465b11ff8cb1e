import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { migrateEventStore } from '@antibody/event-store';
import { CliError, describeDatabaseError, EXIT, hostPort, usageError } from '../errors';
import type { Output } from '../output';
import { startNatsServer } from '../up/nats';
import { startLocalPostgres, type LocalPostgres } from '../up/postgres';
import { startManaged, waitUntil, type Managed } from '../up/processes';

/** The services `antibody up` runs, in the order their ports are numbered with --port-base. */
export const PLATFORM_SERVICES = ['ingest', 'analyzer', 'patcher', 'validator', 'deployer', 'console'] as const;
export type PlatformService = (typeof PLATFORM_SERVICES)[number];

/** Started only when installed (built): the others are the healing loop and always started. */
const OPTIONAL: ReadonlySet<PlatformService> = new Set(['console']);

export interface UpOptions {
  /** Comma-separated services, e.g. `ingest,analyzer`; default: every installed one. */
  readonly only?: string;
  readonly dataDir?: string;
  /** Ports base+0 … base+5 in PLATFORM_SERVICES order, instead of each service's default. */
  readonly portBase?: number;
  readonly databaseUrl?: string;
  readonly schema: string;
}

type Env = Readonly<Record<string, string | undefined>>;

/** Parses `--only`: known names, no repeats, at least one. Usage error otherwise. */
export function parseOnly(value: string | undefined): readonly PlatformService[] | undefined {
  if (value === undefined) return undefined;
  const names = value.split(',').map((name) => name.trim()).filter(Boolean);
  if (names.length === 0) throw usageError(`--only needs service names, e.g. --only ingest,analyzer (known: ${PLATFORM_SERVICES.join(', ')})`);
  for (const name of names) {
    if (!(PLATFORM_SERVICES as readonly string[]).includes(name)) throw usageError(`--only: unknown service "${name}" (known: ${PLATFORM_SERVICES.join(', ')})`);
  }
  const repeated = names.find((name, i) => names.indexOf(name) !== i);
  if (repeated) throw usageError(`--only names ${repeated} twice`);
  return names as PlatformService[];
}

/** The port in a service's "antibody-<service> listening on :<port>" log line. */
export function listeningPort(line: string): number | undefined {
  const match = /listening on :(\d+)/.exec(line);
  return match ? Number(match[1]) : undefined;
}

/** The entry of a service's build (`@antibody/<service>`'s dist/main.js), or undefined when not installed or built. */
export function serviceEntry(service: PlatformService): { main: string } | { missing: string } {
  let dir: string;
  try {
    dir = dirname(require.resolve(`@antibody/${service}/package.json`));
  } catch {
    // In a checkout whose workspaces were not linked again since a service was added.
    const inCheckout = join(__dirname, '..', '..', '..', '..', 'services', service);
    if (!isPackage(inCheckout, `@antibody/${service}`)) {
      return { missing: `@antibody/${service} is not installed (antibody up runs from a checkout of Antibody after npm ci && npm run build)` };
    }
    dir = inCheckout;
  }
  const main = join(dir, 'dist', 'main.js');
  return existsSync(main) ? { main } : { missing: `${main} is missing: run npm run build` };
}

/**
 * `antibody up`: Postgres (DATABASE_URL, else a persistent local one), NATS (NATS_URL, else a
 * nats-server from PATH, else the store-log transport), the event store migrated once, then the
 * services as processes, each printed with where it listens; runs until `signal` (Ctrl-C) or until
 * a service exits, then stops everything it started, services first. A service that exits is a
 * failure (exit 1) naming it and its log.
 */
export async function up(options: UpOptions, out: Output, env: Env, signal: AbortSignal): Promise<void> {
  const chosen = parseOnly(options.only);
  const entries = new Map<PlatformService, string>();
  for (const service of chosen ?? PLATFORM_SERVICES) {
    const entry = serviceEntry(service);
    if ('main' in entry) entries.set(service, entry.main);
    else if (chosen || !OPTIONAL.has(service)) throw new CliError(`cannot start ${service}: ${entry.missing}`, EXIT.failure);
    else out.note(`antibody: ${service} is not started: ${entry.missing}`);
  }
  const stateDir = env.ANTIBODY_HOME || join(homedir(), '.antibody');
  const logsDir = join(stateDir, 'logs');
  // Entered, not listed, by others: as root, Postgres runs as another user and may keep its data here.
  mkdirSync(stateDir, { recursive: true, mode: 0o711 });
  mkdirSync(logsDir, { recursive: true, mode: 0o700 });

  const started: Managed[] = [];
  let postgres: LocalPostgres | undefined;
  const killAll = () => {
    for (const p of started) p.killNow();
    postgres?.killNow();
  };
  process.on('exit', killAll);
  const stopAll = async () => {
    const services = started.filter((p) => p.name !== 'nats-server');
    await Promise.all(services.map((p) => p.stop()));
    await Promise.all(started.filter((p) => p.name === 'nats-server').map((p) => p.stop()));
    await postgres?.stop();
  };

  try {
    let databaseUrl = options.databaseUrl ?? env.DATABASE_URL;
    if (databaseUrl) {
      out.line(`postgres   ${hostPort(databaseUrl)} (DATABASE_URL)`);
    } else {
      postgres = await startLocalPostgres({ stateDir, dataDir: options.dataDir, env, log: (line) => out.line(line) });
      for (const note of postgres.notes) out.note(`antibody: ${note}`);
      databaseUrl = postgres.url;
    }
    if (signal.aborted) return;

    let natsUrl = env.NATS_URL;
    if (natsUrl) {
      out.line(`nats       ${natsUrl} (NATS_URL)`);
    } else {
      const nats = await startNatsServer(stateDir, logsDir);
      if (nats?.server) started.push(nats.server);
      natsUrl = nats?.url;
      out.line(natsUrl ? `nats       started nats-server on ${natsUrl} (JetStream, store in ${join(stateDir, 'nats')})` : 'nats       no NATS_URL and no nats-server on PATH: the services use the store-log transport');
    }
    if (signal.aborted) return;

    await migrate(databaseUrl, options.schema, out);

    const serviceEnv = (service: PlatformService): NodeJS.ProcessEnv => {
      const result: NodeJS.ProcessEnv = { ...env, DATABASE_URL: databaseUrl, ANTIBODY_SCHEMA: options.schema };
      if (natsUrl) result.NATS_URL = natsUrl;
      else delete result.NATS_URL;
      if (options.portBase !== undefined) result.PORT = String(options.portBase + PLATFORM_SERVICES.indexOf(service));
      else delete result.PORT;
      return result;
    };
    const services = [...entries.entries()];
    const ports = new Map<PlatformService, number>();
    await Promise.all(
      services.map(async ([service, main]) => {
        const p = startManaged(service, process.execPath, [main], { env: serviceEnv(service), logFile: join(logsDir, `${service}.log`) });
        started.push(p);
        p.onLine((line) => {
          const port = listeningPort(line);
          if (port !== undefined && !ports.has(service)) ports.set(service, port);
        });
        await waitUntil(async () => ports.has(service) && (await ready(ports.get(service)!)), {
          timeoutMs: 180_000,
          signal,
          description: `${service} to be ready (log: ${p.logFile})`,
          failFast: () => (p.exited() ? `${service} exited (${p.child.exitCode ?? p.child.signalCode}) while starting: ${lastLogLine(p.tail())} (log: ${p.logFile})` : undefined),
        });
        out.line(`${service.padEnd(10)} http://127.0.0.1:${ports.get(service)}  (log: ${p.logFile})`);
      }),
    ).catch((error: unknown) => {
      if (signal.aborted) return;
      throw new CliError(error instanceof Error ? error.message : String(error), EXIT.failure, { cause: error });
    });
    if (signal.aborted) return;

    const envFile = join(stateDir, 'env');
    writeFileSync(envFile, `export DATABASE_URL='${databaseUrl}'\nexport ANTIBODY_SCHEMA='${options.schema}'\n${natsUrl ? `export NATS_URL='${natsUrl}'\n` : ''}`, { mode: 0o600 });
    out.line(`antibody is up (${services.length} service${services.length === 1 ? '' : 's'}); Ctrl-C stops everything. For other commands in another terminal: . ${envFile}`);

    const crashed = await new Promise<Managed | undefined>((resolve) => {
      signal.addEventListener('abort', () => resolve(undefined), { once: true });
      for (const p of started) p.child.once('exit', () => (signal.aborted ? undefined : resolve(p)));
    });
    if (crashed) throw new CliError(`${crashed.name} exited (${crashed.child.exitCode ?? crashed.child.signalCode}): ${lastLogLine(crashed.tail())} (log: ${crashed.logFile}); stopped everything`, EXIT.failure);
  } finally {
    out.note('antibody: stopping…');
    await stopAll();
    process.off('exit', killAll);
    out.note('antibody: stopped');
  }
}

/** `antibody migrate`: brings the event store's schema up to date (advisory-locked: safe beside running services). */
export async function migrate(databaseUrl: string, schema: string, out: Output): Promise<void> {
  try {
    await migrateEventStore({ connectionString: databaseUrl, schema });
  } catch (error) {
    throw describeDatabaseError(error, { databaseUrl, schema });
  }
  out.line(`migrate    event store schema "${schema}" at ${hostPort(databaseUrl)} is up to date`);
}

function isPackage(dir: string, name: string): boolean {
  try {
    return (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown }).name === name;
  } catch {
    return false;
  }
}

async function ready(port: number): Promise<boolean> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/health/ready`, { signal: AbortSignal.timeout(2000) });
    return response.status === 200;
  } catch {
    return false;
  }
}

/** The message of a service's last log line (JSON logs: its `msg`). */
function lastLogLine(tail: string): string {
  const line = tail.trim().split('\n').pop() ?? '';
  try {
    const parsed = JSON.parse(line) as { msg?: unknown };
    if (typeof parsed.msg === 'string') return parsed.msg;
  } catch {
    // not JSON
  }
  return line || 'no output';
}
