// Runs replicas of a Node service as real child processes: readiness by GET /health, restart with
// exponential backoff after a crash, graceful drain and SIGTERM, and resident-memory limits.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** Something the supervisor wants the operator (and the deployer) to know. */
export interface SupervisorReport {
  readonly at: string;
  readonly kind: 'crashed' | 'restarted' | 'resource-limit' | 'drained' | 'gave-up';
  readonly replica: string;
  readonly release: string;
  readonly detail: string;
}

export interface SupervisorOptions {
  readonly memoryLimitMb: number;
  readonly backoffMinMs: number;
  readonly backoffMaxMs: number;
  /** After this much healthy run time the backoff resets. */
  readonly backoffResetMs: number;
  /** SIGKILL a replica that has not exited this long after SIGTERM. */
  readonly killAfterMs: number;
  readonly readyTimeoutMs: number;
  readonly onReport: (report: SupervisorReport) => void;
}

export type ReplicaState = 'starting' | 'ready' | 'draining' | 'stopped' | 'backoff';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function residentMb(pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = /VmRSS:\s+(\d+)\s+kB/.exec(status)?.[1];
    return kb === undefined ? undefined : Number(kb) / 1024;
  } catch {
    return undefined; // not Linux, or the process just exited
  }
}

/** One supervised process of a release. Routable only while `state === 'ready'`. */
export class Replica {
  state: ReplicaState = 'starting';
  port = 0;
  inflight = 0;
  restarts = 0;
  private child: ChildProcess | undefined;
  private backoffMs: number;
  private startedAt = 0;
  private stopping = false;
  private memoryTimer: NodeJS.Timeout | undefined;
  private stopped: Promise<void> = Promise.resolve();

  constructor(
    readonly id: string,
    readonly release: string,
    readonly entry: string,
    private readonly options: SupervisorOptions,
  ) {
    this.backoffMs = options.backoffMinMs;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Starts the process and resolves once it answers GET /health (rejects after readyTimeoutMs). */
  async start(): Promise<void> {
    this.state = 'starting';
    this.port = await freePort();
    const child = spawn(process.execPath, [`--max-old-space-size=${Math.max(16, Math.floor(this.options.memoryLimitMb))}`, this.entry], {
      env: { ...process.env, PORT: String(this.port), ANTIBODY_RELEASE: this.release },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    this.child = child;
    this.startedAt = Date.now();
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString('utf8')).slice(-2000);
    });
    this.stopped = new Promise((resolve) => child.once('exit', () => resolve()));
    child.once('exit', (code, signal) => this.exited(child, code, signal, stderr));
    this.memoryTimer = setInterval(() => this.checkMemory(), 500);
    this.memoryTimer.unref();
    await this.waitReady(child);
  }

  private async waitReady(child: ChildProcess): Promise<void> {
    const deadline = Date.now() + this.options.readyTimeoutMs;
    while (Date.now() < deadline) {
      if (child.exitCode !== null || child.signalCode !== null || this.child !== child) throw new Error(`replica ${this.id} exited before it was ready`);
      try {
        const response = await fetch(`http://127.0.0.1:${this.port}/health`, { signal: AbortSignal.timeout(500) });
        if (response.ok) {
          if (this.state === 'starting') this.state = 'ready';
          return;
        }
      } catch {
        // not listening yet
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    throw new Error(`replica ${this.id} was not ready within ${this.options.readyTimeoutMs} ms`);
  }

  private checkMemory(): void {
    const pid = this.child?.pid;
    if (pid === undefined || this.state !== 'ready') return;
    const rss = residentMb(pid);
    if (rss !== undefined && rss > this.options.memoryLimitMb) {
      this.report('resource-limit', `resident memory ${rss.toFixed(0)} MB above the limit ${this.options.memoryLimitMb} MB: restarting`);
      // Recycle it gracefully: stop routing, let in-flight requests end, SIGTERM; the exit restarts it.
      this.state = 'draining';
      void this.terminateWhenIdle();
    }
  }

  private exited(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null, stderr: string): void {
    if (this.child !== child) return;
    clearInterval(this.memoryTimer);
    if (this.stopping) {
      this.state = 'stopped';
      return;
    }
    const recycled = this.state === 'draining';
    this.state = 'backoff';
    if (!recycled) this.report('crashed', `exited with ${signal ?? `code ${code}`}${stderr ? `: ${stderr.trim().split('\n').slice(-1)[0]}` : ''}`);
    if (Date.now() - this.startedAt > this.options.backoffResetMs) this.backoffMs = this.options.backoffMinMs;
    const delay = recycled ? 0 : this.backoffMs;
    this.backoffMs = Math.min(this.options.backoffMaxMs, this.backoffMs * 2);
    setTimeout(() => {
      if (this.stopping) return;
      this.restarts++;
      this.start().then(
        () => this.report('restarted', `restart ${this.restarts} after ${delay} ms, pid ${this.pid}`),
        (error: Error) => this.report('gave-up', error.message),
      );
    }, delay).unref();
  }

  private async terminateWhenIdle(): Promise<void> {
    while (this.inflight > 0) await new Promise((resolve) => setTimeout(resolve, 10));
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), this.options.killAfterMs);
    timer.unref();
    await this.stopped;
    clearTimeout(timer);
  }

  /** Stops routing to it, waits for its in-flight requests, then SIGTERM (SIGKILL after killAfterMs). */
  async drain(): Promise<void> {
    this.stopping = true;
    if (this.state === 'stopped') return;
    this.state = 'draining';
    await this.terminateWhenIdle();
    this.state = 'stopped';
    this.report('drained', 'drained and stopped');
  }

  private report(kind: SupervisorReport['kind'], detail: string): void {
    this.options.onReport({ at: new Date().toISOString(), kind, replica: this.id, release: this.release, detail });
  }
}
