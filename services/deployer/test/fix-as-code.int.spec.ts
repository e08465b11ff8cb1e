import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { commitFix, FixAsCodeError, openPullRequest } from '../src/infrastructure/fix-as-code';
import { startFakeGitHub, startFakeGitLab, type FakeForge } from './fake-forges';

const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, encoding: 'utf8', env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' } }).trim();

const DIFF = `--- a/src/cart.js
+++ b/src/cart.js
@@ -1,3 +1,3 @@
 function total(items) {
-  return items.reduce((sum, item) => sum + item.price, 0);
+  return (items ?? []).reduce((sum, item) => sum + item.price, 0);
 }
`;

describe('the fix as code', () => {
  let root: string;
  let clone: string;
  let bare: string;
  const forges: FakeForge[] = [];
  const incidentId = '3f1c2a9e-0000-4000-8000-000000000001';
  const patchId = '7a2e4c61-5d3b-4f80-b9c2-1e6a8d4f2b57';

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'antibody-fix-spec-'));
    bare = join(root, 'remote.git');
    clone = join(root, 'service');
    git(root, 'init', '--bare', '-b', 'main', bare);
    git(root, 'init', '-b', 'main', clone);
    execFileSync('mkdir', ['-p', join(clone, 'src')]);
    writeFileSync(join(clone, 'src', 'cart.js'), 'function total(items) {\n  return items.reduce((sum, item) => sum + item.price, 0);\n}\n');
    git(clone, 'add', '.');
    git(clone, 'commit', '-m', 'initial');
    git(clone, 'remote', 'add', 'origin', bare);
    git(clone, 'push', 'origin', 'main');
  });
  afterAll(async () => {
    await Promise.all(forges.map((f) => f.close()));
    rmSync(root, { recursive: true, force: true });
  });

  const input = () => ({ repository: clone, baseBranch: 'main', remote: 'origin', incidentId, patchId, diff: DIFF, title: 'fix: total() of a missing cart', evidence: ['12 tests passed', 'reproduced the captured TypeError, fixed by the patch'] });

  it('commits on antibody/<incident> with the evidence and pushes it, leaving the working tree alone', async () => {
    const fix = await commitFix(input());
    expect(fix.branch).toBe(`antibody/${incidentId}`);
    expect(git(bare, 'rev-parse', `refs/heads/${fix.branch}`)).toBe(fix.commitSha);
    const message = git(bare, 'log', '-1', '--format=%B', fix.commitSha);
    expect(message).toContain(`Antibody-Incident: ${incidentId}`);
    expect(message).toContain('- 12 tests passed');
    expect(git(bare, 'show', `${fix.commitSha}:src/cart.js`)).toContain('(items ?? [])');
    expect(git(clone, 'status', '--porcelain')).toBe('');
    expect(git(clone, 'rev-parse', '--abbrev-ref', 'HEAD')).toBe('main');
  });

  it('a retry replaces the branch instead of failing', async () => {
    const again = await commitFix(input());
    expect(git(bare, 'rev-parse', `refs/heads/${again.branch}`)).toBe(again.commitSha);
  });

  it('refuses a patch that does not apply, naming it', async () => {
    await expect(commitFix({ ...input(), diff: DIFF.replace('items.reduce', 'things.reduce') })).rejects.toMatchObject({ name: 'FixAsCodeError', code: 'PATCH_DOES_NOT_APPLY' });
  });

  it('opens a GitHub pull request through @octokit/rest', async () => {
    const github = await startFakeGitHub({ token: 'ghp_test', bareRepo: bare });
    forges.push(github);
    const url = await openPullRequest({ kind: 'github', baseUrl: github.url, owner: 'shop', repo: 'api', token: 'ghp_test' }, { branch: `antibody/${incidentId}`, baseBranch: 'main', title: 'fix: total()', body: 'evidence' });
    expect(url).toBe('https://github.com/shop/api/pull/1');
    expect(github.requests[0]).toMatchObject({ method: 'POST', path: '/repos/shop/api/pulls', body: { head: `antibody/${incidentId}`, base: 'main' } });
    await expect(
      openPullRequest({ kind: 'github', baseUrl: github.url, owner: 'shop', repo: 'api', token: 'wrong' }, { branch: `antibody/${incidentId}`, baseBranch: 'main', title: 't', body: 'b' }),
    ).rejects.toBeInstanceOf(FixAsCodeError);
    await expect(
      openPullRequest({ kind: 'github', baseUrl: github.url, owner: 'shop', repo: 'api', token: 'ghp_test' }, { branch: 'antibody/not-pushed', baseBranch: 'main', title: 't', body: 'b' }),
    ).rejects.toMatchObject({ code: 'PULL_REQUEST_FAILED', message: expect.stringContaining('422') });
  });

  it('opens a GitLab merge request, and reports a duplicate', async () => {
    const gitlab = await startFakeGitLab({ token: 'glpat', bareRepo: bare });
    forges.push(gitlab);
    const target = { kind: 'gitlab' as const, baseUrl: gitlab.url, projectId: 'shop/api', token: 'glpat' };
    const pr = { branch: `antibody/${incidentId}`, baseBranch: 'main', title: 'fix', body: 'evidence' };
    expect(await openPullRequest(target, pr)).toBe('https://gitlab.example/shop/api/-/merge_requests/1');
    expect(gitlab.requests[0]?.path).toBe('/api/v4/projects/shop%2Fapi/merge_requests');
    await expect(openPullRequest(target, pr)).rejects.toMatchObject({ code: 'PULL_REQUEST_FAILED', message: expect.stringContaining('409') });
  });
});
