import { spawn } from 'node:child_process';

/** A compiled program started as a real process by a spec. */
export interface TestProcess {
  /** Resolves with the exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;
  stdout(): string;
  stderr(): string;
  /** Sends SIGTERM (or the given signal). */
  stop(signal?: NodeJS.Signals): void;
}

/**
 * Starts `node <main>` with only PATH and HOME from this environment plus `env`, capturing its
 * output: what a service sees when an operator starts it, not the test runner's variables.
 */
export function startProcess(main: string, env: Record<string, string>, args: readonly string[] = []): TestProcess {
  const child = spawn(process.execPath, [main, ...args], {
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { exited, stdout: () => out, stderr: () => err, stop: (signal = 'SIGTERM') => void child.kill(signal) };
}
