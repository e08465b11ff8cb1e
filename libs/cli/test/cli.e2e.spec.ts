import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { createTestStore, testMetadata, waitFor, type TestStore } from '@antibody/testing';

// The built CLI as a real process (`npm run build` or `npx tsc -b libs/cli` first).

const ROOT = join(__dirname, '..', '..', '..');
const BIN = join(ROOT, 'libs', 'cli', 'bin', 'antibody.js');

interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

let db: TestStore;
beforeAll(async () => {
  if (!existsSync(join(ROOT, 'libs', 'cli', 'dist', 'main.js'))) throw new Error('libs/cli is not built: run `npx tsc -b libs/cli` first');
  db = await createTestStore('cli_e2e');
});
afterAll(async () => {
  await db.cleanup();
});

function spawnCli(args: string[], env: Record<string, string | undefined> = {}) {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: db.databaseUrl, ANTIBODY_SCHEMA: db.schema, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<Exit>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
  return { child, exited, stderr: () => stderr, stdout: () => stdout };
}

const run = (...args: string[]) => spawnCli(args).exited;

async function appendIncident(): Promise<string> {
  const id = randomUUID();
  const streamId = `incident-${id}`;
  await db.store.appendToStream(
    streamId,
    [
      {
        type: 'IncidentOpened',
        data: {
          incidentId: id,
          service: 'checkout',
          fingerprint: 'a3f1c9e0b7d64e21',
          exception: { type: 'TypeError', value: 'Cannot read properties of undefined' },
          firstSeen: new Date().toISOString(),
        },
        metadata: testMetadata({ correlationId: id }),
      },
      { type: 'IncidentEscalated', data: { reason: 'no template fits', step: 'patch' }, metadata: testMetadata({ correlationId: id }) },
    ],
    { expectedVersion: 'no-stream' },
  );
  return streamId;
}

describe('antibody (process)', () => {
  it('replays a stream as timeline lines', async () => {
    const streamId = await appendIncident();
    const result = await run('replay', streamId);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toBe(`stream ${streamId}: 2 events, correlation ${streamId.slice('incident-'.length)}`);
    expect(lines[1]).toMatch(/Z {2}#0 +IncidentOpened +test\/test-1 +— +TypeError: Cannot read properties of undefined \(checkout, fp a3f1c9e0\)$/);
    expect(lines[2]).toMatch(/#1 +IncidentEscalated .* patch: no template fits$/);
  });

  it('verifies a stream', async () => {
    const streamId = await appendIncident();
    expect(await run('verify', streamId)).toMatchObject({ code: 0, stdout: `ok: ${streamId} (2 events, chain intact)\n`, stderr: '' });
  });

  it('exits 2 with one stderr line for an unknown stream', async () => {
    expect(await run('replay', 'incident-x')).toMatchObject({ code: 2, stdout: '', stderr: 'antibody: stream "incident-x" does not exist\n' });
  });

  it('exits 2 with one stderr line for an unknown option', async () => {
    expect(await run('replay', 'incident-x', '--bogus')).toMatchObject({ code: 2, stdout: '', stderr: "antibody: unknown option '--bogus'\n" });
  });

  it('exits 2 with one stderr line for an unknown command', async () => {
    expect(await run('repaly', 'incident-x')).toMatchObject({ code: 2, stdout: '', stderr: "antibody: unknown command 'repaly' (Did you mean replay?)\n" });
  });

  it('exits 1 with one stderr line when Postgres is unreachable', async () => {
    expect(await run('replay', 'incident-x', '--database-url', 'postgres://x@127.0.0.1:1/x')).toMatchObject({
      code: 1,
      stdout: '',
      stderr: 'antibody: cannot reach Postgres at 127.0.0.1:1 (ECONNREFUSED)\n',
    });
  });

  it('exits 1 with one stderr line when the schema holds no event store', async () => {
    const result = await run('verify', '--all', '--schema', 'no_such_schema');
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^antibody: no event store in schema "no_such_schema" at .+\n$/);
  });

  it('tails until SIGINT, then exits 0', async () => {
    const tail = spawnCli(['tail']);
    await waitFor(() => tail.stderr().includes('following events after position'), { timeoutMs: 15_000, description: 'tail to start' });
    const streamId = await appendIncident();
    await waitFor(() => tail.stdout().split('\n').length > 2, { timeoutMs: 15_000, description: 'tail to print the new events' });
    tail.child.kill('SIGINT');
    const result = await tail.exited;
    expect(result).toMatchObject({ code: 0, signal: null });
    expect(result.stdout).toContain(`  ${streamId}  #1    IncidentEscalated`);
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
  });
});
