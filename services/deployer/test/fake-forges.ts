// Local HTTP servers speaking the slices of the GitHub REST API and the GitLab REST API v4 that the
// deployer uses, so the real clients (@octokit/rest, fetch) run against them. They check what the
// real services check: the token, the required fields, and that the head branch exists in the remote.
import { execFileSync } from 'node:child_process';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeForge {
  readonly url: string;
  readonly requests: { method: string; path: string; headers: IncomingMessage['headers']; body: Record<string, unknown> }[];
  close(): Promise<void>;
}

function branchExists(bareRepo: string, branch: string): boolean {
  try {
    execFileSync('git', ['rev-parse', '--verify', `refs/heads/${branch}`], { cwd: bareRepo, stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? (JSON.parse(text) as Record<string, unknown>) : {};
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** GitHub: POST /repos/:owner/:repo/pulls (201, or 401 / 422 as github.com answers). */
export async function startFakeGitHub(options: { token: string; bareRepo: string }): Promise<FakeForge> {
  const requests: FakeForge['requests'] = [];
  let next = 1;
  const server = createServer((req, res) => {
    void (async () => {
      const body = await readJson(req);
      const path = (req.url ?? '').split('?')[0] ?? '';
      requests.push({ method: req.method ?? '', path, headers: req.headers, body });
      const send = (status: number, data: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
        res.end(JSON.stringify(data));
      };
      if (req.headers.authorization !== `token ${options.token}`) return send(401, { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest' });
      const match = /^\/repos\/([^/]+)\/([^/]+)\/pulls$/.exec(path);
      if (!match || req.method !== 'POST') return send(404, { message: 'Not Found' });
      const [, owner, repo] = match;
      for (const field of ['title', 'head', 'base']) {
        if (typeof body[field] !== 'string') return send(422, { message: 'Validation Failed', errors: [{ resource: 'PullRequest', field, code: 'missing_field' }] });
      }
      if (!branchExists(options.bareRepo, body.head as string)) {
        return send(422, { message: 'Validation Failed', errors: [{ resource: 'PullRequest', field: 'head', code: 'invalid' }] });
      }
      const number = next++;
      return send(201, {
        id: 1000 + number,
        number,
        state: 'open',
        title: body.title,
        body: body.body ?? null,
        html_url: `https://github.com/${owner}/${repo}/pull/${number}`,
        url: `${req.headers.host}/repos/${owner}/${repo}/pulls/${number}`,
        head: { ref: body.head },
        base: { ref: body.base },
      });
    })();
  });
  const url = await listen(server);
  return { url, requests, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** GitLab: POST /api/v4/projects/:id/merge_requests (201, or 401 / 400 / 409 as gitlab.com answers). */
export async function startFakeGitLab(options: { token: string; bareRepo: string }): Promise<FakeForge> {
  const requests: FakeForge['requests'] = [];
  let iid = 1;
  const open = new Set<string>();
  const server = createServer((req, res) => {
    void (async () => {
      const body = await readJson(req);
      const path = (req.url ?? '').split('?')[0] ?? '';
      requests.push({ method: req.method ?? '', path, headers: req.headers, body });
      const send = (status: number, data: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(data));
      };
      if (req.headers['private-token'] !== options.token) return send(401, { message: '401 Unauthorized' });
      const match = /^\/api\/v4\/projects\/([^/]+)\/merge_requests$/.exec(path);
      if (!match || req.method !== 'POST') return send(404, { message: '404 Not Found' });
      const project = decodeURIComponent(match[1] as string);
      for (const field of ['source_branch', 'target_branch', 'title']) {
        if (typeof body[field] !== 'string') return send(400, { error: `${field} is missing` });
      }
      if (!branchExists(options.bareRepo, body.source_branch as string)) return send(400, { message: ['Source branch does not exist'] });
      const key = `${body.source_branch}->${body.target_branch}`;
      if (open.has(key)) return send(409, { message: [`Another open merge request already exists for this source branch: !${iid - 1}`] });
      open.add(key);
      const n = iid++;
      return send(201, { id: 5000 + n, iid: n, state: 'opened', title: body.title, web_url: `https://gitlab.example/${project}/-/merge_requests/${n}` });
    })();
  });
  const url = await listen(server);
  return { url, requests, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
