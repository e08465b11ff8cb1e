import type { NatsConnection } from '@nats-io/nats-core';
import type { Pool } from 'pg';
import { serviceDisplayName } from './config';

/** The minimal logger the platform writes through (a pino logger fits). */
export interface PlatformLog {
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

/** Options shared by {@link connectPostgres} and {@link connectNats}. */
export interface ConnectOptions {
  /** Service name (`analyzer`), used to prefix log lines. */
  service: string;
  /** Where retry lines go: one line per failed attempt, never a stack trace. */
  log: PlatformLog;
  /** Aborting stops the retries; the promise then rejects with a {@link ConnectError} (`CONNECT_ABORTED`). */
  signal?: AbortSignal;
  /** Give up after this many attempts (default: never). */
  maxAttempts?: number;
  /** Give up once this many milliseconds have passed since the first attempt (default: never). */
  deadlineMs?: number;
}

/**
 * Thrown when a connection could not be made within the attempts or deadline allowed
 * (`code: 'CONNECT_FAILED'`, `cause` is the last error) or the caller aborted
 * (`code: 'CONNECT_ABORTED'`). The message is one line, without credentials.
 */
export class ConnectError extends Error {
  override readonly name = 'ConnectError';
  readonly code: 'CONNECT_FAILED' | 'CONNECT_ABORTED';

  constructor(code: 'CONNECT_FAILED' | 'CONNECT_ABORTED', message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

const FIRST_DELAY_MS = 500;
const MAX_DELAY_MS = 10_000;

/** Backoff before retry number `attempt` (1-based): 0.5s doubling, capped at 10s. */
export function retryDelayMs(attempt: number): number {
  return Math.min(FIRST_DELAY_MS * 2 ** Math.max(0, attempt - 1), MAX_DELAY_MS);
}

/**
 * Describes a connection failure in a few words: the system error code (`ECONNREFUSED`) when
 * there is one, otherwise the error's first message line. Never includes a stack.
 */
export function describeConnectError(err: unknown): string {
  // Duck-typed: errors from Node's core modules may come from another realm (e.g. under Jest).
  if (typeof err !== 'object' || err === null) return String(err);
  const e = err as { code?: unknown; message?: unknown; name?: unknown; errors?: unknown };
  // Node's happy-eyeballs connect reports an AggregateError whose members carry the code.
  const first = Array.isArray(e.errors) ? (e.errors[0] as { code?: unknown } | undefined) : undefined;
  const code = typeof e.code === 'string' ? e.code : typeof first?.code === 'string' ? first.code : undefined;
  const message = typeof e.message === 'string' ? (e.message.split('\n')[0] ?? '').trim() : '';
  if (code && /^E[A-Z_]+$/.test(code)) return code;
  if (code && message) return `${message} [${code}]`;
  return message || code || (typeof e.name === 'string' ? e.name : String(err));
}

/** `host:port` of a URL, without credentials; the raw text if it does not parse. */
function endpointOf(url: string, defaultPort: number): string {
  const first = url.split(',')[0]?.trim() ?? '';
  try {
    const u = new URL(first.includes('://') ? first : `nats://${first}`);
    return `${u.hostname}:${u.port || defaultPort}`;
  } catch {
    return '(unparseable URL)';
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

function formatSeconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(1))}s`;
}

/** Runs `attempt` until it succeeds, logging one line per failure and backing off. */
async function withRetry<T>(what: string, where: string, options: ConnectOptions, attempt: () => Promise<T>): Promise<T> {
  const name = serviceDisplayName(options.service);
  const started = Date.now();
  for (let n = 1; ; n++) {
    if (options.signal?.aborted) {
      throw new ConnectError('CONNECT_ABORTED', `${name}: stopped connecting to ${what} at ${where}`);
    }
    try {
      return await attempt();
    } catch (err) {
      const reason = describeConnectError(err);
      const delay = retryDelayMs(n);
      const outOfAttempts = options.maxAttempts !== undefined && n >= options.maxAttempts;
      const outOfTime = options.deadlineMs !== undefined && Date.now() + delay - started > options.deadlineMs;
      if (outOfAttempts || outOfTime) {
        const message = `${name}: cannot reach ${what} at ${where} (${reason}); giving up after ${n} attempt${n === 1 ? '' : 's'}`;
        options.log.error(message);
        throw new ConnectError('CONNECT_FAILED', message, { cause: err });
      }
      options.log.warn(`${name}: cannot reach ${what} at ${where} (${reason}); retrying in ${formatSeconds(delay)}`);
      await sleep(delay, options.signal);
    }
  }
}

/**
 * Opens a pg connection pool and proves it with one connection, retrying with exponential backoff
 * (0.5s doubling, capped at 10s) while Postgres is unreachable. Each failed attempt logs one line,
 * e.g. `antibody-analyzer: cannot reach Postgres at 127.0.0.1:5999 (ECONNREFUSED); retrying in 2s`.
 *
 * The pool survives a Postgres restart: errors on idle clients are logged, not thrown, a client
 * checked out when its connection drops fails its next query instead of ending the process, and
 * the next query opens a fresh connection.
 *
 * @throws ConnectError when `maxAttempts`/`deadlineMs` run out or `signal` aborts.
 */
export async function connectPostgres(url: string, options: ConnectOptions): Promise<Pool> {
  const { Pool } = await import('pg');
  const name = serviceDisplayName(options.service);
  const where = endpointOf(url, 5432);
  const pool = new Pool({ connectionString: url, connectionTimeoutMillis: 5_000, application_name: name });
  pool.on('error', (err) => {
    options.log.warn(`${name}: lost an idle Postgres connection to ${where} (${describeConnectError(err)}); the pool reconnects on next use`);
  });
  // A client checked out of the pool has no pool listener. One held for long (a session advisory
  // lock kept through a whole validation or rollout) whose connection Postgres drops (a restart)
  // would otherwise emit an unhandled 'error' and end the process. Its holder's next query rejects
  // instead, and releasing it with that error discards it.
  pool.on('connect', (client) => client.on('error', () => undefined));
  try {
    await withRetry('Postgres', where, options, async () => {
      const client = await pool.connect();
      client.release();
    });
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw err;
  }
  options.log.info(`${name}: connected to Postgres at ${where}`);
  return pool;
}

/**
 * Connects to NATS, retrying the first connection with the same backoff and log lines as
 * {@link connectPostgres}. Once connected, the client reconnects forever on its own
 * (`reconnect: true, maxReconnectAttempts: -1`); disconnects and reconnects are logged.
 *
 * @throws ConnectError when `maxAttempts`/`deadlineMs` run out or `signal` aborts.
 */
export async function connectNats(url: string, options: ConnectOptions): Promise<NatsConnection> {
  const { connect } = await import('@nats-io/transport-node');
  const name = serviceDisplayName(options.service);
  const where = endpointOf(url, 4222);
  const servers = url.split(',').map((s) => s.trim());
  // noAsyncTraces: nats.js otherwise builds an Error (a stack capture) per request to decorate
  // timeouts; at relay rates that was a sixth of the CPU, and we never print those stacks.
  const nc = await withRetry('NATS', where, options, () =>
    connect({ servers, name, reconnect: true, maxReconnectAttempts: -1, reconnectTimeWait: 1_000, noAsyncTraces: true }),
  );
  options.log.info(`${name}: connected to NATS at ${nc.getServer()}`);
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type === 'disconnect') options.log.warn(`${name}: disconnected from NATS at ${status.server}; reconnecting`);
      else if (status.type === 'reconnect') options.log.info(`${name}: reconnected to NATS at ${status.server}`);
      else if (status.type === 'error') options.log.warn(`${name}: NATS error (${describeConnectError(status.error)})`);
    }
  })().catch(() => undefined);
  return nc;
}
