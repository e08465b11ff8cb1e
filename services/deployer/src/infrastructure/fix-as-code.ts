// The fix as code: a branch `antibody/<incident>` with one commit carrying the patch and its evidence,
// pushed to the service's remote, and a pull (merge) request where one is configured.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Octokit } from '@octokit/rest';

/** A typed failure of the fix-as-code step; `code` says which part failed, `cause` keeps the original. */
export class FixAsCodeError extends Error {
  override readonly name = 'FixAsCodeError';
  constructor(
    readonly code: 'GIT_FAILED' | 'PATCH_DOES_NOT_APPLY' | 'PULL_REQUEST_FAILED' | 'INVALID_SETTINGS',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

function git(args: readonly string[], cwd: string, input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      'git',
      [...args],
      {
        cwd,
        maxBuffer: 16 * 1024 * 1024,
        // The patch comes from an LLM or a template: it is data, passed on stdin, never a shell word.
        env: { ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_AUTHOR_NAME: 'Antibody', GIT_AUTHOR_EMAIL: 'antibody@localhost', GIT_COMMITTER_NAME: 'Antibody', GIT_COMMITTER_EMAIL: 'antibody@localhost' },
      },
      (error, stdout, stderr) => {
        if (error) reject(new FixAsCodeError(args[0] === 'apply' ? 'PATCH_DOES_NOT_APPLY' : 'GIT_FAILED', `git ${args[0]} failed: ${stderr.trim() || error.message}`, { cause: error }));
        else resolve(stdout.trim());
      },
    );
    if (input !== undefined) child.stdin?.end(input);
  });
}

/** What to commit and where. */
export interface CommitFixInput {
  /** A local clone of the service's repository (its `repository.url` when that is a path). */
  readonly repository: string;
  readonly baseBranch: string;
  /** Git remote name or URL to push to. */
  readonly remote: string;
  readonly incidentId: string;
  readonly patchId: string;
  /** Unified diff against `baseBranch`. */
  readonly diff: string;
  /** A regression test (unified diff adding it), committed with the fix. */
  readonly testDiff?: string;
  /** First line of the commit message. */
  readonly title: string;
  /** Evidence lines (tests passed, reproduction, ...), added to the message body. */
  readonly evidence: readonly string[];
}

export interface CommittedFix {
  readonly branch: string;
  readonly commitSha: string;
  readonly message: string;
}

/** Branch name for an incident's fix. */
export function fixBranch(incidentId: string): string {
  return `antibody/${incidentId}`;
}

/** The commit message: title, evidence, and trailers linking the incident and the patch. */
export function commitMessage(input: Pick<CommitFixInput, 'title' | 'evidence' | 'incidentId' | 'patchId'>): string {
  const evidence = input.evidence.map((line) => `- ${line}`).join('\n');
  return `${input.title}\n\nEvidence:\n${evidence}\n\nAntibody-Incident: ${input.incidentId}\nAntibody-Patch: ${input.patchId}\n`;
}

/**
 * Commits the patch on `antibody/<incident>` in a temporary worktree (the clone's own working tree
 * is never touched) and force-pushes the branch (a retry replaces the same branch, never adds a
 * second one). Throws FixAsCodeError PATCH_DOES_NOT_APPLY when the diff does not apply to the base
 * branch, GIT_FAILED for anything else git refuses.
 */
export async function commitFix(input: CommitFixInput): Promise<CommittedFix> {
  const branch = fixBranch(input.incidentId);
  const work = await mkdtemp(join(tmpdir(), 'antibody-fix-'));
  const worktree = join(work, 'tree');
  try {
    await git(['worktree', 'add', '--force', '-B', branch, worktree, input.baseBranch], input.repository);
    for (const diff of [input.diff, input.testDiff ?? '']) {
      if (diff) await git(['apply', '--index', '--whitespace=nowarn', '-'], worktree, diff.endsWith('\n') ? diff : `${diff}\n`);
    }
    const message = commitMessage(input);
    await git(['commit', '--no-verify', '-F', '-'], worktree, message);
    const commitSha = await git(['rev-parse', 'HEAD'], worktree);
    await git(['push', '--force', input.remote, `${branch}:refs/heads/${branch}`], worktree);
    return { branch, commitSha, message };
  } finally {
    await git(['worktree', 'remove', '--force', worktree], input.repository).catch(() => undefined);
    await rm(work, { recursive: true, force: true });
  }
}

/** A pull/merge request to open for a pushed fix branch. */
export interface PullRequestInput {
  readonly branch: string;
  readonly baseBranch: string;
  readonly title: string;
  readonly body: string;
}

/** Where pull requests go. `token` is the value, read by the caller from the env variable the settings name. */
export type PullRequestTarget =
  | { readonly kind: 'github'; readonly baseUrl: string; readonly owner: string; readonly repo: string; readonly token: string }
  | { readonly kind: 'gitlab'; readonly baseUrl: string; readonly projectId: string; readonly token: string };

/**
 * Opens a pull request (GitHub REST API through @octokit/rest) or a merge request (GitLab REST API
 * v4) and returns its web URL. Throws FixAsCodeError PULL_REQUEST_FAILED with the API's status and
 * message.
 */
export async function openPullRequest(target: PullRequestTarget, pr: PullRequestInput): Promise<string> {
  if (target.kind === 'github') {
    const octokit = new Octokit({ auth: target.token, baseUrl: target.baseUrl, request: { retries: 0 } });
    try {
      const response = await octokit.rest.pulls.create({ owner: target.owner, repo: target.repo, head: pr.branch, base: pr.baseBranch, title: pr.title, body: pr.body });
      return response.data.html_url;
    } catch (error) {
      const status = (error as { status?: number }).status;
      throw new FixAsCodeError('PULL_REQUEST_FAILED', `GitHub refused the pull request (${status ?? 'no status'}): ${(error as Error).message}`, { cause: error });
    }
  }
  const url = `${target.baseUrl.replace(/\/$/, '')}/api/v4/projects/${encodeURIComponent(target.projectId)}/merge_requests`;
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'private-token': target.token },
      body: JSON.stringify({ source_branch: pr.branch, target_branch: pr.baseBranch, title: pr.title, description: pr.body, remove_source_branch: true }),
    });
  } catch (error) {
    throw new FixAsCodeError('PULL_REQUEST_FAILED', `GitLab is unreachable at ${target.baseUrl}: ${(error as Error).message}`, { cause: error });
  }
  const body = (await response.json().catch(() => ({}))) as { web_url?: string; message?: unknown };
  if (!response.ok || typeof body.web_url !== 'string') {
    throw new FixAsCodeError('PULL_REQUEST_FAILED', `GitLab refused the merge request (${response.status}): ${JSON.stringify(body.message ?? body)}`);
  }
  return body.web_url;
}
