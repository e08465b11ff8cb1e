// The processes the demo starts (services, the fleet agent, Postgres, nats-server): each in its own
// process group, so stopping one also stops everything it spawned (the fleet agent's replicas,
// jest workers of a validation), and so Ctrl-C on the demo reaches nothing twice.
import { spawn, type ChildProcess } from 'node:child_process';

/** A process started by the demo. */
export interface ManagedProcess {
  readonly name: string;
  readonly child: ChildProcess;
  /** The last 64 KB of its stdout and stderr, interleaved. */
  output(): string;
  /** True once it has exited. */
  exited(): boolean;
}

/** A process that ended before it was ready, or never became ready. */
export class ProcessStartError extends Error {
  override readonly name = 'ProcessStartError';
  readonly code = 'PROCESS_START_FAILED' as const;
  constructor(
    readonly process: string,
    message: string,
  ) {
    super(message);
  }
}

const KEEP = 64 * 1024;

/**
 * Starts and stops the demo's processes. `stopAll` sends SIGTERM to every process group, waits up
 * to `graceMs`, then SIGKILLs what is left: nothing the demo started outlives it.
 */
export class ProcessGroup {
  private readonly processes: ManagedProcess[] = [];

  /** Spawns `command args` in a new process group with exactly `env` (nothing inherited). */
  start(name: string, command: string, args: readonly string[], options: { env: NodeJS.ProcessEnv; cwd?: string; onLine?: (line: string) => void }): ManagedProcess {
    const child = spawn(command, [...args], { env: options.env, cwd: options.cwd, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let pending = '';
    const take = (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      out = (out + text).slice(-KEEP);
      if (!options.onLine) return;
      pending += text;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) options.onLine(line);
    };
    child.stdout?.on('data', take);
    child.stderr?.on('data', take);
    // A spawn failure (e.g. ENOENT) is reported through exited()/output(), never as an uncaught error.
    child.on('error', (error) => (out += `\n${error.message}`));
    const managed: ManagedProcess = { name, child, output: () => out, exited: () => child.exitCode !== null || child.signalCode !== null };
    this.processes.push(managed);
    return managed;
  }

  /** Every process started, in order. */
  list(): readonly ManagedProcess[] {
    return this.processes;
  }

  /** Stops one process (its whole group): SIGTERM, then SIGKILL after `graceMs`. */
  async stop(p: ManagedProcess, graceMs = 5000): Promise<void> {
    if (p.child.pid === undefined || p.exited()) return;
    const done = new Promise<void>((resolve) => p.child.once('exit', () => resolve()));
    signalGroup(p.child.pid, 'SIGTERM');
    const timer = setTimeout(() => signalGroup(p.child.pid as number, 'SIGKILL'), graceMs);
    await done;
    clearTimeout(timer);
    // Whatever the leader left behind in its group (a replica, a test worker) goes too.
    signalGroup(p.child.pid, 'SIGKILL');
  }

  /** Stops every process, the last started first (the fleet before the services before Postgres). */
  async stopAll(graceMs = 5000): Promise<void> {
    for (const p of [...this.processes].reverse()) await this.stop(p, graceMs);
  }

  /** Synchronous last resort (process 'exit' handler): SIGKILL to every group still alive. */
  killAllNow(): void {
    for (const p of this.processes) if (p.child.pid !== undefined) signalGroup(p.child.pid, 'SIGKILL');
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is already gone.
  }
}

/**
 * Waits until `ready()` is true, failing early with the process's output when it exits first or
 * when `timeoutMs` passes.
 */
export async function waitUntilReady(p: ManagedProcess, ready: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await ready()) return;
    if (p.exited()) throw new ProcessStartError(p.name, `${p.name} exited (${p.child.exitCode ?? p.child.signalCode}) before it was ready:\n${tail(p.output())}`);
    if (Date.now() > deadline) throw new ProcessStartError(p.name, `${p.name} was not ready within ${timeoutMs} ms:\n${tail(p.output())}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The last lines of a process's output, for an error message. */
export function tail(text: string, lines = 15): string {
  return text.trim().split('\n').slice(-lines).join('\n');
}
