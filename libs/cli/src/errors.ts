import { CommanderError } from 'commander';
import { EventStoreConfigError, StreamNotFoundError } from '@antibody/event-store';

/** Exit codes of the `antibody` command. */
export const EXIT = {
  /** Success (also: help shown, tail stopped by a signal). */
  ok: 0,
  /** A runtime failure: Postgres unreachable, a broken hash chain, an unexpected error. */
  failure: 1,
  /** Bad input: unknown command or option, bad value, unknown stream. */
  usage: 2,
} as const;

/** A failure the CLI explains itself: `message` is the one line printed after `antibody: `. */
export class CliError extends Error {
  readonly code: 'CLI_USAGE' | 'CLI_RUNTIME';
  constructor(
    message: string,
    readonly exitCode: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'CliError';
    this.code = exitCode === EXIT.usage ? 'CLI_USAGE' : 'CLI_RUNTIME';
  }
}

/** Bad input from the user (exit 2). */
export function usageError(message: string): CliError {
  return new CliError(message, EXIT.usage);
}

/** Ends the command with `exitCode` after it has already printed its outcome (e.g. a broken chain). */
export class ExitStatus extends Error {
  constructor(readonly exitCode: number) {
    super(`exit ${exitCode}`);
    this.name = 'ExitStatus';
  }
}

/** Where the CLI was connecting when an error happened, to name it in messages. */
export interface DatabaseTarget {
  readonly databaseUrl: string;
  readonly schema: string;
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET']);

/** Turns a pg / network error into a {@link CliError} that names the server or schema; other errors pass through. */
export function describeDatabaseError(error: unknown, target: DatabaseTarget): unknown {
  if (error instanceof CliError || !(error instanceof Error)) return error;
  const where = hostPort(target.databaseUrl);
  const code = errorCode(error);
  if (code && NETWORK_CODES.has(code)) return new CliError(`cannot reach Postgres at ${where} (${code})`, EXIT.failure, { cause: error });
  if (/timeout expired|connection timeout/i.test(error.message)) {
    return new CliError(`cannot reach Postgres at ${where} (timeout)`, EXIT.failure, { cause: error });
  }
  if (code === '28P01' || code === '28000') return new CliError(`Postgres at ${where} refused the login: ${error.message}`, EXIT.failure, { cause: error });
  if (code === '3D000') return new CliError(`Postgres at ${where}: ${error.message}`, EXIT.failure, { cause: error });
  if (code === '42P01' || code === '3F000') {
    return new CliError(`no event store in schema "${target.schema}" at ${where} (${error.message}): pass --schema or run the migrations`, EXIT.failure, {
      cause: error,
    });
  }
  if (code && /^[0-9A-Z]{5}$/.test(code)) return new CliError(`Postgres error ${code}: ${error.message}`, EXIT.failure, { cause: error });
  return error;
}

/** The exit code and the one line to print for an error that ended a command (no line: already reported). */
export function outcomeOf(error: unknown): { exitCode: number; line?: string } {
  if (error instanceof ExitStatus) return { exitCode: error.exitCode };
  if (error instanceof CommanderError) {
    // Commander has already printed its message (or the help) through the program's output.
    // It exits 0 after help asked for; every other commander error is a usage error.
    return { exitCode: error.exitCode === 0 ? EXIT.ok : EXIT.usage };
  }
  if (error instanceof CliError) return { exitCode: error.exitCode, line: error.message };
  if (error instanceof StreamNotFoundError || error instanceof EventStoreConfigError) return { exitCode: EXIT.usage, line: error.message };
  const message = error instanceof Error ? error.message : String(error);
  return { exitCode: EXIT.failure, line: message || 'unexpected error' };
}

/** `host:port` of a Postgres URL, for messages (never the password). */
export function hostPort(databaseUrl: string): string {
  try {
    const url = new URL(databaseUrl);
    return `${url.hostname || 'localhost'}:${url.port || '5432'}`;
  } catch {
    return 'an unparsable URL';
  }
}

function errorCode(error: Error): string | undefined {
  const own = (error as { code?: unknown }).code;
  if (typeof own === 'string') return own;
  // Node's happy-eyeballs connect reports one AggregateError for several addresses.
  if (error instanceof AggregateError) {
    for (const inner of error.errors) {
      const code = (inner as { code?: unknown } | null)?.code;
      if (typeof code === 'string') return code;
    }
  }
  return undefined;
}
