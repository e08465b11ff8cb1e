// The processes `antibody up` starts: each in its own process group (so stopping one stops what
// it spawned, and Ctrl-C in the terminal reaches only the CLI, which stops them in order), with
// its output appended to a log file.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { createServer } from 'node:net';

/** A TCP port nobody listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** Waits until `ready()`; throws with `failFast()`'s reason as soon as it has one, or at the deadline. */
export async function waitUntil(ready: () => boolean | Promise<boolean>, options: { timeoutMs: number; description: string; failFast?: () => string | undefined; signal?: AbortSignal }): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    if (await ready()) return;
    const failure = options.failFast?.();
    if (failure) throw new Error(failure);
    if (options.signal?.aborted) throw new Error(`stopped while waiting for ${options.description}`);
    if (Date.now() > deadline) throw new Error(`timed out after ${Math.round(options.timeoutMs / 1000)} s waiting for ${options.description}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** A child process started by `up`. */
export interface Managed {
  readonly name: string;
  readonly child: ChildProcess;
  readonly logFile: string;
  exited(): boolean;
  /** The last lines of its output. */
  tail(lines?: number): string;
  /** Calls `listener` with each complete output line. */
  onLine(listener: (line: string) => void): void;
  /** SIGTERM to its group, SIGKILL after `graceMs`; resolves once it exited. */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL to its group, synchronously (a process 'exit' handler). */
  killNow(): void;
}

const KEEP = 32 * 1024;

/** Spawns `command args` in a new process group, appending its stdout and stderr to `logFile`. */
export function startManaged(name: string, command: string, args: readonly string[], options: { env: NodeJS.ProcessEnv; cwd?: string; logFile: string }): Managed {
  const log = createWriteStream(options.logFile, { flags: 'a' });
  log.on('error', () => undefined);
  const child = spawn(command, [...args], { env: options.env, cwd: options.cwd, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let kept = '';
  let pending = '';
  const listeners: Array<(line: string) => void> = [];
  const take = (chunk: Buffer) => {
    const text = chunk.toString('utf8');
    log.write(text);
    kept = (kept + text).slice(-KEEP);
    pending += text;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) for (const listener of listeners) listener(line);
  };
  child.stdout?.on('data', take);
  child.stderr?.on('data', take);
  child.on('error', (error) => (kept += `\n${error.message}`));
  child.once('close', () => log.end());
  const exited = () => child.exitCode !== null || child.signalCode !== null;
  const group = (signal: NodeJS.Signals) => {
    if (child.pid === undefined) return;
    try {
      process.kill(-child.pid, signal);
    } catch {
      // already gone
    }
  };
  return {
    name,
    child,
    logFile: options.logFile,
    exited,
    tail: (lines = 5) => kept.trim().split('\n').slice(-lines).join('\n'),
    onLine: (listener) => void listeners.push(listener),
    async stop(graceMs = 10_000) {
      if (child.pid === undefined || exited()) return;
      const done = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      group('SIGTERM');
      const timer = setTimeout(() => group('SIGKILL'), graceMs);
      await done;
      clearTimeout(timer);
      group('SIGKILL'); // whatever it left behind in its group
    },
    killNow: () => group('SIGKILL'),
  };
}
