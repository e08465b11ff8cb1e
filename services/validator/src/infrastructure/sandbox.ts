import { spawn, spawnSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** What this host lets the sandbox enforce (decided once per process by {@link detectIsolation}). */
export interface Isolation {
  /**
   * `namespaces`: running as root with util-linux: new network, mount and PID namespaces, a
   * read-only view of the filesystem except the writable directories, an unprivileged user id,
   * and rlimits. `rlimits`: only the resource limits and the process-group kill.
   */
  readonly mode: 'namespaces' | 'rlimits';
  readonly why: string;
}

let detected: Isolation | undefined;

/**
 * Probes once whether `unshare --net --mount --pid` and `setpriv` work here (they need root, or
 * CAP_SYS_ADMIN). Never throws: falls back to `rlimits` and says why.
 */
export function detectIsolation(): Isolation {
  if (detected) return detected;
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    detected = { mode: 'rlimits', why: 'not running as root: no network/mount/PID namespaces; limits only' };
    return detected;
  }
  const probe = spawnSync('unshare', ['--net', '--mount', '--pid', '--fork', '--kill-child', '--mount-proc', 'setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--no-new-privs', 'prlimit', '--nproc=16', '--', 'true'], {
    stdio: 'ignore',
    timeout: 10_000,
  });
  detected =
    probe.status === 0
      ? { mode: 'namespaces', why: 'root with unshare, setpriv and prlimit available' }
      : { mode: 'rlimits', why: `unshare/setpriv/prlimit probe failed (${probe.error?.message ?? `exit ${probe.status}`}): no namespaces; limits only` };
  return detected;
}

/** Where this process may make a memory cgroup per run, and which interface it speaks. */
interface MemoryCgroups {
  readonly parent: string;
  readonly limitFile: 'memory.limit_in_bytes' | 'memory.max';
}

let cgroups: MemoryCgroups | null | undefined;

/**
 * Probes once for a memory cgroup this (root) process can make children in: cgroup v2 with the
 * memory controller, else v1's memory hierarchy, under this process's own cgroup. Null when there
 * is none (then the memory limit is per process address space).
 */
export function memoryCgroups(): MemoryCgroups | null {
  if (cgroups !== undefined) return cgroups;
  cgroups = null;
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return cgroups;
  const attempts: MemoryCgroups[] = [];
  try {
    const own = readFileSync('/proc/self/cgroup', 'utf8').split('\n');
    const v2 = own.find((l) => l.startsWith('0::'))?.slice(3);
    if (v2 !== undefined && existsSync('/sys/fs/cgroup/cgroup.controllers') && readFileSync('/sys/fs/cgroup/cgroup.controllers', 'utf8').split(/\s+/).includes('memory')) {
      attempts.push({ parent: join('/sys/fs/cgroup', v2), limitFile: 'memory.max' });
    }
    const v1 = own.find((l) => /^\d+:([^:]*,)?memory(,[^:]*)?:/.test(l))?.split(':')[2];
    if (v1 !== undefined && existsSync('/sys/fs/cgroup/memory/memory.limit_in_bytes')) attempts.push({ parent: join('/sys/fs/cgroup/memory', v1), limitFile: 'memory.limit_in_bytes' });
  } catch {
    return cgroups;
  }
  for (const attempt of attempts) {
    const probe = join(attempt.parent, `antibody-probe-${randomBytes(4).toString('hex')}`);
    try {
      mkdirSync(probe);
      writeFileSync(join(probe, attempt.limitFile), String(64 * 2 ** 20));
      cgroups = attempt;
      break;
    } catch {
      // Not delegated to us: try the next.
    } finally {
      try {
        rmdirSync(probe);
      } catch {
        // Never made.
      }
    }
  }
  return cgroups;
}

/** A memory cgroup for one run, limited to `bytes`; undefined where there is none. */
function makeRunCgroup(bytes: number): string | undefined {
  const groups = memoryCgroups();
  if (!groups) return undefined;
  const dir = join(groups.parent, `antibody-run-${randomBytes(6).toString('hex')}`);
  try {
    mkdirSync(dir);
    writeFileSync(join(dir, groups.limitFile), String(bytes));
    return dir;
  } catch {
    void removeRunCgroup(dir);
    return undefined;
  }
}

/** Removes a run's cgroup once its last process is reaped (they were killed with the run); never throws. */
async function removeRunCgroup(dir: string): Promise<void> {
  for (let attempt = 0; attempt < 40; attempt++) {
    try {
      rmdirSync(dir);
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

/** Limits of one sandboxed run. */
export interface SandboxLimits {
  /** Wall time; on expiry the whole process group (and PID namespace) is killed. */
  readonly timeLimitMs: number;
  /**
   * Memory of the whole run: resident memory of all its processes together, through a memory
   * cgroup where the host has one (see {@link memoryCgroups}); else address space per process
   * (RLIMIT_AS), which breaks runners that reserve large WebAssembly memories (Vitest, undici).
   */
  readonly memoryBytes: number;
  /** Processes of the sandbox user (RLIMIT_NPROC; meaningful when the sandbox runs as its own uid). */
  readonly maxProcesses: number;
  /** Combined stdout+stderr kept; beyond it the run is stopped. */
  readonly outputCapBytes: number;
}

/** One command to run in the sandbox. */
export interface SandboxRun {
  /** A shell command line from the service's registration (run with `sh -c`). */
  readonly command: string;
  /** Working directory: the worktree. */
  readonly cwd: string;
  /** Directories the run may write (the worktree and its temp home); everything else is read-only. */
  readonly writable: readonly string[];
  /** The whole environment of the run: nothing is inherited (see {@link scrubbedEnv}). */
  readonly env: Readonly<Record<string, string>>;
  /** `none`: only a loopback interface (namespaces mode). `host`: the host's network (install). */
  readonly network: 'none' | 'host';
  readonly limits: SandboxLimits;
  /** Owner of the worktree for this run; a fresh unprivileged uid when omitted. */
  readonly uid?: number;
  /**
   * Stops the run when aborted (the validator shutting down): its whole process group is killed
   * and the run rejects with {@link SandboxAbortedError}, so no verdict is drawn from it.
   */
  readonly signal?: AbortSignal;
}

/** How a sandboxed run ended. */
export interface SandboxResult {
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly timedOut: boolean;
  readonly outputCapped: boolean;
  /** stdout and stderr interleaved as they arrived, at most `outputCapBytes`. */
  readonly output: string;
  readonly durationMs: number;
  readonly enforced: EnforcedSandbox;
}

/** What was enforced for a run, as reported in the verdict. */
export interface EnforcedSandbox {
  readonly network: 'none' | 'loopback-only' | 'host';
  readonly writes: 'worktree-and-temp' | 'unrestricted';
  readonly user: 'unprivileged' | 'same-as-validator';
  readonly limits: readonly string[];
}

const SAFE_VARIABLES = ['LANG', 'LC_ALL', 'TZ', 'TERM'];

/**
 * The only environment a sandboxed command gets: PATH, HOME and TMPDIR pointing into the run's
 * temp directory, CI=true, NODE_ENV=test, a few locale variables copied from the validator, and
 * `extra`. Nothing else of the validator's environment (its database URL, keys, tokens) passes.
 */
export function scrubbedEnv(home: string, tmp: string, extra: Readonly<Record<string, string>> = {}): Record<string, string> {
  const env: Record<string, string> = {
    PATH: process.env['PATH'] ?? '/usr/local/bin:/usr/bin:/bin',
    HOME: home,
    TMPDIR: tmp,
    CI: 'true',
    NODE_ENV: 'test',
    npm_config_cache: `${home}/.npm`,
    npm_config_update_notifier: 'false',
  };
  for (const name of SAFE_VARIABLES) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  return { ...env, ...extra };
}

// Runs as root inside fresh mount/net/PID namespaces, joins the run's memory cgroup (before the
// filesystem turns read-only), then drops to the sandbox uid. Arguments arrive as positional
// parameters, never interpolated: $1 network, $2 uid, $3 nproc, $4 address space, $5 the command,
// $6 the memory cgroup or "-", then the writable directories.
const NAMESPACE_SETUP = `set -e
net="$1"; uid="$2"; nproc="$3"; as="$4"; cmd="$5"; cg="$6"; shift 6
if [ "$cg" != - ]; then echo 0 > "$cg/cgroup.procs"; fi
if [ "$net" = none ]; then ip link set lo up 2>/dev/null || true; fi
mount --make-rprivate /
for m in $(awk '{print $2}' /proc/self/mounts | sort -u); do mount -o remount,bind,ro "$m" 2>/dev/null || true; done
for d in "$@"; do mount --bind "$d" "$d"; mount -o remount,bind,rw "$d"; done
# Re-enter the working directory so that relative paths resolve through the new writable mount.
cd "$PWD"
exec setpriv --reuid="$uid" --regid="$uid" --clear-groups --no-new-privs prlimit --nproc="$nproc" --as="$as" -- sh -c "$cmd"`;

// Without namespaces: the limits through the shell's ulimit (prlimit is not needed).
const ULIMIT_SETUP = `as_kb="$1"; nproc="$2"; cmd="$3"
ulimit -v "$as_kb" 2>/dev/null || true
ulimit -u "$nproc" 2>/dev/null || true
exec sh -c "$cmd"`;

/** A fresh unprivileged uid for one run: the process limit then counts only that run's processes. */
export function freshSandboxUid(): number {
  return randomInt(200_000, 1_000_000);
}

/**
 * Runs a command in the sandbox and resolves when it has ended (never rejects for the command's
 * own failure; rejects only when the sandbox itself cannot start, e.g. `unshare` missing after
 * detection). The process is spawned detached, as its own process group; on timeout or when the
 * output cap is reached the whole group gets SIGKILL, and in namespaces mode the PID namespace's
 * init dies with it, which kills every process the command started, daemonized or not. When
 * `run.signal` aborts, the group is killed the same way and the promise rejects with
 * {@link SandboxAbortedError} once the command has exited.
 */
export function runSandboxed(run: SandboxRun): Promise<SandboxResult> {
  const isolation = detectIsolation();
  const { limits } = run;
  const uid = run.uid ?? freshSandboxUid();
  // Resident memory of the whole run where a memory cgroup can be made; else address space per process.
  const cgroup = isolation.mode === 'namespaces' ? makeRunCgroup(limits.memoryBytes) : undefined;
  const limitsText = [
    `timeout ${Math.round(limits.timeLimitMs / 1000)}s`,
    cgroup ? `memory ${formatBytes(limits.memoryBytes)} resident, whole run (cgroup)` : `address-space ${formatBytes(limits.memoryBytes)} per process`,
    `processes ${limits.maxProcesses}`,
    `output ${formatBytes(limits.outputCapBytes)}`,
  ];
  let file: string;
  let args: string[];
  let enforced: EnforcedSandbox;
  if (isolation.mode === 'namespaces') {
    const unshare = ['--mount', '--pid', '--fork', '--kill-child', '--mount-proc'];
    if (run.network === 'none') unshare.unshift('--net');
    file = 'unshare';
    args = [...unshare, 'sh', '-c', NAMESPACE_SETUP, 'antibody-sandbox', run.network, String(uid), String(limits.maxProcesses), cgroup ? 'unlimited' : String(limits.memoryBytes), run.command, cgroup ?? '-', ...run.writable];
    enforced = { network: run.network === 'none' ? 'loopback-only' : 'host', writes: 'worktree-and-temp', user: 'unprivileged', limits: limitsText };
  } else {
    file = 'sh';
    args = ['-c', ULIMIT_SETUP, 'antibody-sandbox', String(Math.floor(limits.memoryBytes / 1024)), String(limits.maxProcesses), run.command];
    enforced = { network: 'host', writes: 'unrestricted', user: 'same-as-validator', limits: limitsText };
  }

  return new Promise((resolve, reject) => {
    if (run.signal?.aborted) {
      if (cgroup) void removeRunCgroup(cgroup);
      reject(new SandboxAbortedError('the sandboxed run was not started: the validator is stopping'));
      return;
    }
    const started = performance.now();
    const child = spawn(file, args, { cwd: run.cwd, env: { ...run.env }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    let size = 0;
    let timedOut = false;
    let outputCapped = false;
    let settled = false;
    const killGroup = (): void => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    };
    const onData = (chunk: Buffer): void => {
      if (outputCapped) return;
      const room = limits.outputCapBytes - size;
      if (chunk.length > room) {
        chunks.push(chunk.subarray(0, Math.max(0, room)));
        size = limits.outputCapBytes;
        outputCapped = true;
        killGroup();
        return;
      }
      chunks.push(chunk);
      size += chunk.length;
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, limits.timeLimitMs);
    let aborted = false;
    const onAbort = (): void => {
      aborted = true;
      killGroup();
    };
    run.signal?.addEventListener('abort', onAbort, { once: true });
    const finish = (exitCode: number | null, signal: string | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      run.signal?.removeEventListener('abort', onAbort);
      // Whatever is left of the group (a daemonized grandchild in rlimits mode) goes too.
      killGroup();
      if (cgroup) void removeRunCgroup(cgroup);
      if (aborted) {
        reject(new SandboxAbortedError(`the sandboxed run was stopped: the validator is stopping (${run.command.slice(0, 80)})`));
        return;
      }
      resolve({
        exitCode,
        signal,
        timedOut,
        outputCapped,
        output: Buffer.concat(chunks).toString('utf8'),
        durationMs: performance.now() - started,
        enforced,
      });
    };
    child.on('error', (error) => {
      if (settled) return;
      settled = true;
      if (cgroup) void removeRunCgroup(cgroup);
      clearTimeout(timer);
      run.signal?.removeEventListener('abort', onAbort);
      reject(new SandboxStartError(`cannot start the sandbox (${file}): ${error.message}`, { cause: error }));
    });
    child.on('exit', (code, signal) => {
      // 'close' waits for every holder of the pipes; a grandchild that escaped the group in
      // rlimits mode could hold them forever, so give 'close' a short grace period only.
      const grace = setTimeout(() => finish(code, signal), 1000);
      child.once('close', () => {
        clearTimeout(grace);
        finish(code, signal);
      });
    });
  });
}

/** The sandbox could not be started at all (not the command failing). */
export class SandboxStartError extends Error {
  override readonly name = 'SandboxStartError';
  readonly code = 'SANDBOX_START_FAILED' as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * A sandboxed run stopped because the validator is stopping: not an outcome of the patch. The
 * validation it belonged to draws no verdict and throws, so the event is delivered again (to
 * another instance, or to this one after its restart).
 */
export class SandboxAbortedError extends Error {
  override readonly name = 'SandboxAbortedError';
  readonly code = 'SANDBOX_ABORTED' as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * The validator's stop switch for its sandboxed runs: {@link signal} goes to every run, and on
 * `onModuleDestroy` (the first of Nest's shutdown hooks, before the bus waits for in-flight
 * handlers in `beforeApplicationShutdown`) it aborts, so every run in flight has its process group
 * killed and its validation ends without a verdict.
 */
export class SandboxedRuns {
  private readonly controller = new AbortController();

  /** Aborts when the validator stops. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Kills every sandboxed run in flight and refuses new ones. */
  stopAll(): void {
    this.controller.abort();
  }

  onModuleDestroy(): void {
    this.stopAll();
  }
}

function formatBytes(bytes: number): string {
  if (bytes >= 2 ** 30 && bytes % 2 ** 30 === 0) return `${bytes / 2 ** 30}GiB`;
  if (bytes >= 2 ** 20) return `${Math.round(bytes / 2 ** 20)}MiB`;
  return `${Math.round(bytes / 1024)}KiB`;
}
