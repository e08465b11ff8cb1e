import { mkdtempSync, rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Workspaces, WorkspaceError, type Workspace } from '../src/infrastructure/workspace';
import { createRepo, SHOP_FILES, cartWith, type FixtureRepo } from './fixtures/git-repo';

// The validator's own plumbing on real git: worktrees of one mirror made at once, an
// infrastructure failure told from a patch that does not apply, dependencies cached without a lockfile.
jest.setTimeout(60_000);

let workDir: string;
let workspaces: Workspaces;
let repo: FixtureRepo;

beforeAll(() => {
  workDir = mkdtempSync(join(tmpdir(), 'antibody-workspaces-'));
  workspaces = new Workspaces(workDir);
  repo = createRepo(SHOP_FILES);
});

afterAll(() => {
  repo.cleanup();
  rmSync(workDir, { recursive: true, force: true });
});

describe('worktrees of one mirror', () => {
  it('given eight validations starting at once on one repository, then each gets its worktree and each is removed', async () => {
    const mirror = await workspaces.mirrorOf(repo.dir);
    const made = await Promise.all(Array.from({ length: 8 }, (_, i) => workspaces.create(mirror, repo.commit, `w${i}`)));
    expect(new Set(made.map((w) => w.worktree)).size).toBe(8);
    for (const w of made) expect((await workspaces.trackedFiles(w)).sort()).toEqual(Object.keys(SHOP_FILES).sort());
    await Promise.all(made.map((w) => workspaces.remove(w)));
  });

  it('tells a patch that does not apply from git failing for its own reason', async () => {
    const mirror = await workspaces.mirrorOf(repo.dir);
    const w: Workspace = await workspaces.create(mirror, repo.commit, 'apply');
    const stale = repo.diff({ 'src/cart.js': cartWith('  return 0;\n') }).replace('items.reduce', 'items.reduceX');
    await expect(workspaces.checkPatch(w, stale)).rejects.toMatchObject({ code: 'PATCH_DOES_NOT_APPLY' });
    // The worktree is gone (a disk cleaned under it): git cannot run there, which says nothing about the patch.
    await rm(w.worktree, { recursive: true, force: true });
    const good = repo.diff({ 'src/cart.js': cartWith('  return 0;\n') });
    const failure = await workspaces.checkPatch(w, good).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(WorkspaceError);
    expect(failure).toMatchObject({ code: 'GIT_FAILED', message: expect.stringContaining('git apply --check failed for a reason of its own') });
    await workspaces.remove(w);
  });

  it('keys the dependency cache by package.json and the install command when there is no lockfile', async () => {
    const mirror = await workspaces.mirrorOf(repo.dir);
    const w = await workspaces.create(mirror, repo.commit, 'deps');
    const key = await workspaces.dependencyKey(w, 'npm install');
    expect(key).toMatch(/^[0-9a-f]{32}$/);
    expect(await workspaces.dependencyKey(w, 'npm install')).toBe(key);
    expect(await workspaces.dependencyKey(w, 'npm install --omit=dev')).not.toBe(key);
    await workspaces.remove(w);
  });
});
