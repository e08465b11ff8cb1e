import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, chown, lstat, mkdir, readFile, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);

/** A git or filesystem step of preparing a worktree failed; `code` says which. */
export class WorkspaceError extends Error {
  override readonly name = 'WorkspaceError';
  constructor(
    readonly code: 'CLONE_FAILED' | 'COMMIT_NOT_FOUND' | 'WORKTREE_FAILED' | 'PATCH_DOES_NOT_APPLY' | 'GIT_FAILED',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Runs git with `safe.directory=*` (worktrees are owned by the sandbox user) and no prompts. */
export async function git(cwd: string, args: readonly string[], input?: string): Promise<string> {
  const env = { ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_CONFIG_NOSYSTEM: '1', LC_ALL: 'C' };
  if (input === undefined) {
    const { stdout } = await exec('git', ['-c', 'safe.directory=*', ...args], { cwd, env, maxBuffer: 64 * 2 ** 20 });
    return stdout;
  }
  return new Promise((resolvePromise, reject) => {
    const child = execFile('git', ['-c', 'safe.directory=*', ...args], { cwd, env, maxBuffer: 64 * 2 ** 20 }, (error, stdout, stderr) => {
      if (error) reject(Object.assign(error, { stderr }));
      else resolvePromise(stdout);
    });
    child.stdin?.end(input);
  });
}

function stderrOf(error: unknown): string {
  const stderr = (error as { stderr?: unknown }).stderr;
  return (typeof stderr === 'string' && stderr.trim() !== '' ? stderr : error instanceof Error ? error.message : String(error)).trim();
}

/** One validation's directories: the worktree, and a temp home and tmp the sandbox may write. */
export interface Workspace {
  readonly root: string;
  readonly worktree: string;
  readonly home: string;
  readonly tmp: string;
  /** The full commit id the worktree was checked out at. */
  readonly commit: string;
  readonly mirror: string;
}

const LOCKFILES = ['package-lock.json', 'npm-shrinkwrap.json', 'yarn.lock', 'pnpm-lock.yaml'];

/**
 * What `git apply --check` says when the patch itself does not fit the tree (git's messages under
 * LC_ALL=C); any other failure (a lock held, a missing object, a full disk) is the validator's.
 */
const PATCH_MISFITS = /^error: (patch failed|.*: patch does not apply|corrupt patch|.*: No such file or directory|.*: already exists in working directory|.*: does not exist in index|.*: does not match index|.*: wrong type|No valid patches in input|unrecognized input|patch with only garbage|.*: patch fragment without header)/m;

/**
 * One git operation at a time on each mirror: concurrent `worktree add`, `worktree remove`,
 * `worktree prune` and `fetch` on one mirror race on its administrative files (a `worktree add`
 * fails while another's lock is held).
 */
class MirrorLocks {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(mirror: string, operation: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(mirror) ?? Promise.resolve();
    const next = previous.then(operation, operation);
    const tail = next.catch(() => undefined);
    this.tails.set(mirror, tail);
    void tail.then(() => {
      if (this.tails.get(mirror) === tail) this.tails.delete(mirror);
    });
    return next;
  }
}

/**
 * Worktrees of services' repositories under `workDir`: a bare mirror per repository
 * (`repos/<hash>.git`, cloned once and fetched when a commit is missing), a detached worktree per
 * validation (`runs/<id>/wt`), and installed dependencies cached by lockfile hash
 * (`deps/<hash>/node_modules`), reused through a symlink. The cache is outside every sandbox's
 * writable directories, so a run can read it but never change it.
 */
export class Workspaces {
  private readonly locks = new MirrorLocks();

  constructor(private readonly workDir: string) {}

  /** The mirror of `url` (a git URL or a local path), cloned on first use. */
  async mirrorOf(url: string): Promise<string> {
    const source = /^[a-z][a-z0-9+.-]*:\/\//i.test(url) || /^[^/]+@[^:]+:/.test(url) ? url : resolve(url);
    const dir = join(this.workDir, 'repos', `${createHash('sha256').update(source).digest('hex').slice(0, 16)}.git`);
    if (existsSync(dir)) return dir;
    await mkdir(join(this.workDir, 'repos'), { recursive: true });
    const temp = `${dir}.tmp-${randomBytes(4).toString('hex')}`;
    try {
      await git(this.workDir, ['clone', '--bare', '--quiet', source, temp]);
      await git(temp, ['config', 'remote.origin.fetch', '+refs/*:refs/*']);
    } catch (error) {
      await rm(temp, { recursive: true, force: true });
      throw new WorkspaceError('CLONE_FAILED', `cannot clone the repository ${url}: ${stderrOf(error)}`, { cause: error });
    }
    // Another validation may have cloned it meanwhile: keep theirs.
    await rename(temp, dir).catch(async () => rm(temp, { recursive: true, force: true }));
    return dir;
  }

  /** Resolves a commit, tag or branch to a full commit id, fetching the mirror once when unknown. */
  async resolveCommit(mirror: string, ref: string): Promise<string> {
    const lookup = () => git(mirror, ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`]).then((s) => s.trim());
    try {
      return await lookup();
    } catch {
      await this.locks.run(mirror, () => git(mirror, ['fetch', '--quiet', '--prune', 'origin'])).catch(() => undefined);
      try {
        return await lookup();
      } catch (error) {
        throw new WorkspaceError('COMMIT_NOT_FOUND', `the repository has no commit, tag or branch "${ref}"`, { cause: error });
      }
    }
  }

  /** A fresh detached worktree at `commit`, with an empty home and tmp beside it. */
  async create(mirror: string, commit: string, id: string): Promise<Workspace> {
    await this.ensureTraversable();
    const root = join(this.workDir, 'runs', `${id}-${randomBytes(4).toString('hex')}`);
    const worktree = join(root, 'wt');
    await mkdir(root, { recursive: true, mode: 0o711 });
    try {
      await this.locks.run(mirror, () => git(mirror, ['worktree', 'add', '--detach', '--quiet', worktree, commit]));
    } catch (error) {
      await rm(root, { recursive: true, force: true });
      throw new WorkspaceError('WORKTREE_FAILED', `cannot create a worktree at ${commit}: ${stderrOf(error)}`, { cause: error });
    }
    const home = join(root, 'home');
    const tmp = join(root, 'tmp');
    await mkdir(home, { recursive: true });
    await mkdir(tmp, { recursive: true });
    return { root, worktree, home, tmp, commit, mirror };
  }

  /**
   * The sandbox runs as another user: it must be able to reach its worktree (and the dependency
   * cache) through the work dir, without listing it. Execute-only (0711) is enough for that.
   */
  private async ensureTraversable(): Promise<void> {
    for (const dir of [this.workDir, join(this.workDir, 'runs'), join(this.workDir, 'deps')]) {
      await mkdir(dir, { recursive: true });
      const mode = (await stat(dir)).mode & 0o777;
      if ((mode & 0o011) !== 0o011) await chmod(dir, mode | 0o711);
    }
  }

  /** Hands the worktree, home and tmp to the sandbox user (namespaces mode), links excepted. */
  async giveTo(workspace: Workspace, uid: number): Promise<void> {
    await exec('chown', ['-R', '-h', `${uid}:${uid}`, workspace.worktree, workspace.home, workspace.tmp]);
  }

  /** Removes the worktree (and its registration in the mirror) and the temp dirs. Never throws. */
  async remove(workspace: Workspace): Promise<void> {
    await this.locks.run(workspace.mirror, () => git(workspace.mirror, ['worktree', 'remove', '--force', workspace.worktree])).catch(() => undefined);
    await rm(workspace.root, { recursive: true, force: true }).catch(() => undefined);
    await this.locks.run(workspace.mirror, () => git(workspace.mirror, ['worktree', 'prune'])).catch(() => undefined);
  }

  /** Files tracked at the worktree's commit. */
  async trackedFiles(workspace: Workspace): Promise<string[]> {
    return (await git(workspace.worktree, ['ls-files', '-z'])).split('\0').filter(Boolean);
  }

  /**
   * The dependency cache key: SHA-256 of the lockfile and the install command; without a lockfile,
   * of package.json and the install command (the same manifest resolves to the same versions until
   * the registry publishes newer ones: a cache per manifest is what one validation after another
   * needs, instead of an install per candidate). Undefined without either.
   */
  async dependencyKey(workspace: Workspace, installCommand: string): Promise<string | undefined> {
    for (const name of [...LOCKFILES, 'package.json']) {
      const path = join(workspace.worktree, name);
      if (!existsSync(path)) continue;
      const hash = createHash('sha256').update(name).update('\0').update(await readFile(path)).update('\0').update(installCommand);
      return hash.digest('hex').slice(0, 32);
    }
    return undefined;
  }

  /** Links the cached node_modules into the worktree; false on a cache miss. */
  async linkDependencies(workspace: Workspace, key: string): Promise<boolean> {
    const cached = join(this.workDir, 'deps', key, 'node_modules');
    if (!existsSync(cached)) return false;
    const target = join(workspace.worktree, 'node_modules');
    await rm(target, { recursive: true, force: true });
    await symlink(cached, target, 'dir');
    return true;
  }

  /**
   * Moves the worktree's freshly installed node_modules into the cache (owned by root, read-only
   * to sandboxes) and links it back. When another validation cached the same key first, theirs is
   * kept and ours discarded.
   */
  async cacheDependencies(workspace: Workspace, key: string): Promise<void> {
    const installed = join(workspace.worktree, 'node_modules');
    const stat = await lstat(installed).catch(() => undefined);
    if (!stat || !stat.isDirectory()) return;
    const dir = join(this.workDir, 'deps', key);
    const temp = `${dir}.tmp-${randomBytes(4).toString('hex')}`;
    await mkdir(temp, { recursive: true });
    await rename(installed, join(temp, 'node_modules'));
    await exec('chown', ['-R', '-h', '0:0', temp]).catch(() => undefined);
    await rename(temp, dir).catch(async () => rm(temp, { recursive: true, force: true }));
    await this.linkDependencies(workspace, key);
  }

  /** `git apply --check` only: whether the patch applies cleanly at the worktree's commit. */
  async checkPatch(workspace: Workspace, diff: string): Promise<void> {
    const patch = diff.endsWith('\n') ? diff : `${diff}\n`;
    try {
      await git(workspace.worktree, ['apply', '--check', '--whitespace=nowarn', '-'], patch);
    } catch (error) {
      const said = stderrOf(error);
      if (!PATCH_MISFITS.test(said)) throw new WorkspaceError('GIT_FAILED', `git apply --check failed for a reason of its own: ${said.split('\n').slice(0, 5).join(' ')}`, { cause: error });
      throw new WorkspaceError('PATCH_DOES_NOT_APPLY', `the patch does not apply cleanly at ${workspace.commit.slice(0, 12)}: ${said.split('\n').slice(0, 5).join(' ')}`, { cause: error });
    }
  }

  /** A JSON file of the worktree, parsed; undefined when missing or not JSON. */
  async readJson(workspace: Workspace, path: string): Promise<unknown> {
    try {
      return JSON.parse(await readFile(join(workspace.worktree, path), 'utf8')) as unknown;
    } catch {
      return undefined;
    }
  }

  /** `git apply --check` then `git apply`; the error carries git's message. */
  async applyPatch(workspace: Workspace, diff: string): Promise<void> {
    const patch = diff.endsWith('\n') ? diff : `${diff}\n`;
    try {
      await git(workspace.worktree, ['apply', '--check', '--whitespace=nowarn', '-'], patch);
    } catch (error) {
      const said = stderrOf(error);
      if (!PATCH_MISFITS.test(said)) throw new WorkspaceError('GIT_FAILED', `git apply --check failed for a reason of its own: ${said.split('\n').slice(0, 5).join(' ')}`, { cause: error });
      throw new WorkspaceError('PATCH_DOES_NOT_APPLY', `the patch does not apply cleanly at ${workspace.commit.slice(0, 12)}: ${said.split('\n').slice(0, 5).join(' ')}`, { cause: error });
    }
    try {
      await git(workspace.worktree, ['apply', '--whitespace=nowarn', '-'], patch);
    } catch (error) {
      throw new WorkspaceError('PATCH_DOES_NOT_APPLY', `git apply failed after a clean check: ${stderrOf(error)}`, { cause: error });
    }
  }

  /** Writes a file into the worktree (the generated reproduction), owned like the worktree. */
  async writeFile(workspace: Workspace, path: string, content: string, uid?: number): Promise<void> {
    const full = join(workspace.worktree, path);
    await mkdir(join(full, '..'), { recursive: true });
    await writeFile(full, content);
    if (uid !== undefined) await chown(full, uid, uid).catch(() => undefined);
  }

  /** Deletes a file from the worktree, if present. */
  async removeFile(workspace: Workspace, path: string): Promise<void> {
    await rm(join(workspace.worktree, path), { force: true });
  }
}
