import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTestStore, testMetadata, type TestStore } from '@antibody/testing';

// The built `antibody` as a process: its version, and output piped into a reader that stops early.

const ROOT = join(__dirname, '..', '..', '..');
const BIN = join(ROOT, 'libs', 'cli', 'bin', 'antibody.js');

let db: TestStore;
beforeAll(async () => {
  if (!existsSync(join(ROOT, 'libs', 'cli', 'dist', 'main.js'))) throw new Error('libs/cli is not built: run `npx tsc -b libs/cli` first');
  db = await createTestStore('cli_pipes');
});
afterAll(async () => {
  await db.cleanup();
});

function run(args: string[], { closeAfterFirstChunk = false } = {}): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, DATABASE_URL: db.databaseUrl, ANTIBODY_SCHEMA: db.schema }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    // What `| head -1` does: read a little, then close the pipe while the command still writes.
    if (closeAfterFirstChunk) child.stdout.destroy();
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
}

describe('antibody (process)', () => {
  it('prints its version, the package version', async () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, 'libs', 'cli', 'package.json'), 'utf8')) as { version: string };
    expect(await run(['--version'])).toMatchObject({ code: 0, stdout: `${version}\n`, stderr: '' });
  });

  it('ends quietly (exit 0, nothing on stderr) when the reader of its output goes away, as with `| head`', async () => {
    const id = randomUUID();
    const events = Array.from({ length: 3000 }, () => ({ type: 'DiagnosisFailed' as const, data: { reason: `no rule fits ${'x'.repeat(200)}` }, metadata: testMetadata({ correlationId: id }) }));
    await db.store.appendToStream(`incident-${id}`, events);
    const replayed = await run(['replay', `incident-${id}`], { closeAfterFirstChunk: true });
    expect(replayed).toMatchObject({ code: 0, signal: null, stderr: '' });
    const tailed = await run(['tail', '--from-start'], { closeAfterFirstChunk: true });
    expect(tailed).toMatchObject({ code: 0, signal: null, stderr: 'following events after position 0; Ctrl-C to stop\n' });
  });
});
