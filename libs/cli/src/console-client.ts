import { CliError, EXIT, usageError } from './errors';

/** Where the console's API listens when neither `--console-url` nor ANTIBODY_CONSOLE_URL says (its default port). */
export const DEFAULT_CONSOLE_URL = 'http://127.0.0.1:4105';

/** The console's HTTP API as the CLI uses it: GET a read model, POST a command. */
export interface ConsoleClient {
  /** The base URL, for messages. */
  readonly url: string;
  /** GET `path` (with its query); resolves with the JSON body of a 200, throws a {@link CliError} otherwise. */
  get<T>(path: string): Promise<T>;
  /** POST `body` to `path`; resolves with the JSON body of a 200, throws a {@link CliError} otherwise. */
  post<T>(path: string, body: unknown): Promise<T>;
}

/** The options naming the console, from the command line. */
export interface ConsoleOptions {
  readonly consoleUrl?: string;
  readonly token?: string;
}

/**
 * A client of the console at `--console-url` (else ANTIBODY_CONSOLE_URL, else {@link DEFAULT_CONSOLE_URL})
 * with the operator token of `--token` (else ANTIBODY_TOKEN). Throws a usage error (exit 2) when
 * there is no token or the URL is malformed. Answers map to exit codes: 400, 404 and 422 (the input
 * was wrong) exit 2; 401, 403, 409, 5xx and an unreachable console exit 1. The line printed is the
 * console's own `detail`.
 */
export function consoleClient(options: ConsoleOptions, env: Readonly<Record<string, string | undefined>>): ConsoleClient {
  const raw = options.consoleUrl ?? (env['ANTIBODY_CONSOLE_URL'] || DEFAULT_CONSOLE_URL);
  let base: URL;
  try {
    base = new URL(raw);
  } catch {
    throw usageError(`--console-url: "${raw}" is not a URL (e.g. ${DEFAULT_CONSOLE_URL})`);
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') throw usageError(`--console-url: "${raw}" is not an http(s) URL`);
  const token = options.token ?? (env['ANTIBODY_TOKEN'] || undefined);
  if (!token) throw usageError('no operator token: pass --token or set ANTIBODY_TOKEN (an admin creates one with `antibody tokens create --name <you> --role viewer`)');
  const url = base.toString().replace(/\/$/, '');

  const call = async <T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> => {
    let response: Response;
    try {
      response = await fetch(`${url}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, accept: 'application/json', ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(30_000),
      });
    } catch (error) {
      const inner = (error as { cause?: { code?: string; message?: string } }).cause;
      const cause = inner?.code ?? inner?.message ?? (error instanceof Error ? error.message : 'error');
      throw new CliError(`cannot reach the console at ${url} (${cause}): pass --console-url or set ANTIBODY_CONSOLE_URL`, EXIT.failure, { cause: error });
    }
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (response.ok) {
      if (parsed === undefined) throw new CliError(`the console at ${url} answered ${method} ${path} with no JSON`, EXIT.failure);
      return parsed as T;
    }
    const detail = (parsed as { detail?: unknown } | undefined)?.detail;
    const line = typeof detail === 'string' && detail !== '' ? detail : `${method} ${path}: HTTP ${response.status}`;
    const usage = response.status === 400 || response.status === 404 || response.status === 422;
    throw new CliError(response.status === 401 || response.status === 403 ? `refused by the console (${response.status}): ${line}` : line, usage ? EXIT.usage : EXIT.failure);
  };
  return { url, get: (path) => call('GET', path), post: (path, body) => call('POST', path, body) };
}
