import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { waitFor } from '@antibody/testing';

// Runs the compiled service as a real process: `npm test` builds it (or `npx tsc -b services/ingest`).
const MAIN = join(__dirname, '..', 'dist', 'main.js');
const DATABASE_URL = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const NATS_URL = process.env['NATS_URL'] ?? 'nats://127.0.0.1:4222';
// Starting a Nest service takes half a minute on a loaded 2-core machine: waits and the test's own limit fit that.
jest.setTimeout(120_000);

interface Service {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function start(env: Record<string, string | undefined>): Service {
  const base: NodeJS.ProcessEnv = { PATH: process.env['PATH'], HOME: process.env['HOME'], NODE_ENV: 'test' };
  const child = spawn(process.execPath, [MAIN], { env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, stdout: () => out, stderr: () => err, exited };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function stopped(service: Service, timeoutMs = 10_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`process did not exit within ${timeoutMs}ms`)), timeoutMs);
  });
  try {
    return await Promise.race([service.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

describe('antibody-ingest as a process', () => {
  const running: Service[] = [];

  beforeAll(() => {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing; build it with \`npx tsc -b services/ingest\``);
  });

  afterEach(() => {
    for (const service of running.splice(0)) {
      if (service.child.exitCode === null && service.child.signalCode === null) service.child.kill('SIGKILL');
    }
  });

  it('becomes healthy, serves metrics, and exits 0 on SIGTERM', async () => {
    const port = await freePort();
    const service = start({ DATABASE_URL, NATS_URL, PORT: String(port), SERVICE_INSTANCE_ID: 'e2e-1' });
    running.push(service);
    const url = `http://127.0.0.1:${port}`;

    const health = await waitFor(
      async () => {
        const res = await fetch(`${url}/health`);
        return res.status === 200 ? ((await res.json()) as { status: string }) : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 100, description: `GET ${url}/health to answer 200` },
    );
    expect(health.status).toBe('ok');

    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/^process_cpu_user_seconds_total\{service="antibody-ingest",service_instance="e2e-1"\} /m);
    expect(service.stdout()).toContain(`"msg":"antibody-ingest listening on :${port}"`);

    service.child.kill('SIGTERM');
    expect(await stopped(service)).toEqual({ code: 0, signal: null });
    expect(service.stdout()).toContain('antibody-ingest: stopped');
    expect(service.stderr()).toBe('');
  });

  it('exits 78 with one line naming PORT when PORT is not a number', async () => {
    const service = start({ DATABASE_URL, PORT: 'abc' });
    running.push(service);
    expect(await stopped(service)).toEqual({ code: 78, signal: null });
    expect(service.stderr()).toBe(
      'antibody-ingest: invalid configuration: PORT must be an integer between 1 and 65535 (got "abc")\n',
    );
  });

  it('exits 78 with one line naming an ingest setting that is out of range', async () => {
    const service = start({ DATABASE_URL, PORT: String(await freePort()), INGEST_MAX_ITEM_BYTES: '12' });
    running.push(service);
    expect(await stopped(service)).toEqual({ code: 78, signal: null });
    expect(service.stderr()).toBe(
      'antibody-ingest: invalid configuration: INGEST_MAX_ITEM_BYTES must be an integer between 1024 and 104857600 (got "12")\n',
    );
  });

  it('keeps retrying, one line per attempt, while Postgres is unreachable', async () => {
    const dbPort = await freePort();
    const service = start({ DATABASE_URL: `postgres://postgres@127.0.0.1:${dbPort}/postgres`, PORT: String(await freePort()) });
    running.push(service);
    await waitFor(() => service.stdout().split('\n').filter((l) => l.includes('cannot reach Postgres')).length >= 2, {
      timeoutMs: 15_000,
      description: 'two "cannot reach Postgres" lines',
    });
    expect(service.stdout()).toContain(
      `antibody-ingest: cannot reach Postgres at 127.0.0.1:${dbPort} (ECONNREFUSED); retrying in 0.5s`,
    );
    expect(service.stdout()).not.toMatch(/\n\s+at /); // no stack trace
    service.child.kill('SIGTERM');
    expect(await stopped(service)).toEqual({ code: 0, signal: null });
  });
});
