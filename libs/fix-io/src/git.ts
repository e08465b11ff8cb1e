import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FixKitError } from '@antibody/fix-kit';

/** Read-only access to a service's repository at a given commit (never its working copy). */
export interface GitRepository {
  /** The full sha of `ref` (a sha, tag or branch), or undefined when the repository has no such commit. */
  resolveCommit(ref: string): Promise<string | undefined>;
  /** The file at `commit` (`git show <commit>:<path>`), or undefined when it does not exist there. */
  readFile(commit: string, path: string): Promise<string | undefined>;
  /** Every file path at `commit` (`git ls-tree -r`), repository-relative. */
  listFiles(commit: string): Promise<string[]>;
}

export interface GitRepositoryOptions {
  /** Where remote repositories are mirrored (default `<tmp>/antibody-git`). */
  readonly cacheDir?: string;
  /** Per git command (default 30 s). */
  readonly timeoutMs?: number;
}

const SAFE_REF = /^[A-Za-z0-9._/@^~{}-]{1,200}$/;

/**
 * Opens `location` (a local path or a git URL) for reads at commits. A local path is read in
 * place through git's object store, so uncommitted changes are never seen; a URL is mirrored
 * once into the cache and fetched again when a commit is not found. Arguments are passed to git
 * as an argument vector (no shell), and refs or paths starting with `-` or holding `..` are
 * refused. Fails with FixKitError `GIT_FAILED` when git itself fails (not for a missing file).
 */
export function gitRepository(location: string, options: GitRepositoryOptions = {}): GitRepository {
  const timeout = options.timeoutMs ?? 30_000;
  let dir: Promise<string> | undefined;
  const local = !/^[a-z][a-z0-9+.-]*:\/\//i.test(location) && !/^[^/]+@[^/]+:/.test(location);
  const gitDir = (): Promise<string> => {
    dir ??= (async () => {
      if (local) {
        if (!existsSync(location) || !statSync(location).isDirectory()) throw new FixKitError('GIT_FAILED', `repository ${location} does not exist`);
        return location;
      }
      const cache = options.cacheDir ?? join(tmpdir(), 'antibody-git');
      mkdirSync(cache, { recursive: true });
      const target = join(cache, createHash('sha256').update(location).digest('hex').slice(0, 16));
      if (!existsSync(target)) await git(cache, ['clone', '--quiet', '--mirror', '--', location, target], timeout);
      return target;
    })();
    return dir;
  };
  const resolveCommit = async (ref: string): Promise<string | undefined> => {
    if (!SAFE_REF.test(ref) || ref.startsWith('-') || ref.includes('..')) return undefined;
    const d = await gitDir();
    const tryResolve = async (): Promise<string | undefined> => {
      const r = await git(d, ['rev-parse', '--verify', '--quiet', '--end-of-options', `${ref}^{commit}`], timeout, true);
      return r.code === 0 ? r.stdout.trim() : undefined;
    };
    const found = await tryResolve();
    if (found || local) return found;
    await git(d, ['fetch', '--quiet', '--prune', 'origin'], timeout, true);
    return tryResolve();
  };
  return {
    resolveCommit,
    async readFile(commit, path) {
      if (!/^[0-9a-f]{7,64}$/.test(commit)) throw new FixKitError('GIT_FAILED', `not a commit sha: ${commit}`);
      const clean = path.replace(/^\.\//, '');
      if (clean.startsWith('-') || clean.startsWith('/') || clean.split('/').includes('..')) return undefined;
      const r = await git(await gitDir(), ['show', `${commit}:${clean}`], timeout, true);
      return r.code === 0 ? r.stdout : undefined;
    },
    async listFiles(commit) {
      if (!/^[0-9a-f]{7,64}$/.test(commit)) throw new FixKitError('GIT_FAILED', `not a commit sha: ${commit}`);
      const r = await git(await gitDir(), ['ls-tree', '-r', '-z', '--name-only', '--full-tree', commit], timeout);
      return r.stdout.split('\0').filter((p) => p !== '');
    },
  };
}

function git(cwd: string, args: readonly string[], timeout: number, tolerate = false): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve, reject) => {
    execFile('git', ['-C', cwd, ...args], { timeout, maxBuffer: 32 * 1024 * 1024, env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', GIT_TERMINAL_PROMPT: '0', HOME: tmpdir() } }, (error, stdout, stderr) => {
      if (!error) return resolve({ code: 0, stdout });
      const code = typeof error.code === 'number' ? error.code : -1;
      if (tolerate && code > 0) return resolve({ code, stdout });
      reject(new FixKitError('GIT_FAILED', `git ${args[0]} failed in ${cwd}: ${String(stderr).split('\n')[0] || error.message}`, { cause: error }));
    });
  });
}

/**
 * Opens services' repositories as the analyzer and the patcher configure it: clones cached under
 * `ANTIBODY_GIT_CACHE` when that setting is given.
 */
export function repositoryOpener(config: Record<string, unknown>): (location: string) => GitRepository {
  const cacheDir = typeof config['ANTIBODY_GIT_CACHE'] === 'string' ? config['ANTIBODY_GIT_CACHE'] : undefined;
  return (location) => gitRepository(location, { cacheDir });
}
