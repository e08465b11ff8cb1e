import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { EventData } from '@antibody/contracts';
import { createTestStore, testMetadata, waitFor, type TestStore } from '@antibody/testing';

// Runs the compiled example as a real process: `npm test` builds it (or `npx tsc -b examples/subscriber`).
const MAIN = join(__dirname, '..', 'dist', 'main.js');

interface Running {
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function start(env: Record<string, string>): Running {
  // No NATS_URL: the store-log transport, so this spec needs Postgres only.
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

function incidentOpened(service: string): { streamId: string; data: EventData<'IncidentOpened'> } {
  const incidentId = randomUUID();
  const data = {
    incidentId,
    service,
    fingerprint: `fp-${incidentId}`,
    exception: { type: 'TypeError', value: "Cannot read properties of undefined (reading 'total')" },
    firstSeen: new Date().toISOString(),
  } as EventData<'IncidentOpened'>;
  return { streamId: `incident-${incidentId}`, data };
}

describe('example-subscriber as a process', () => {
  let t: TestStore;
  let running: Running | undefined;

  beforeAll(() => {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing; build it with \`npx tsc -b examples/subscriber\``);
  });

  beforeEach(async () => {
    t = await createTestStore('subscriber');
  });

  afterEach(async () => {
    if (running && running.child.exitCode === null && running.child.signalCode === null) running.child.kill('SIGKILL');
    running = undefined;
    await t.cleanup();
  });

  it('prints incidents appended before it started, then exits 0 on SIGTERM', async () => {
    const first = incidentOpened('checkout');
    const second = incidentOpened('checkout');
    for (const incident of [first, second]) {
      await t.store.appendToStream(incident.streamId, [{ type: 'IncidentOpened', data: incident.data, metadata: testMetadata({ correlationId: incident.data.incidentId }) }]);
    }

    running = start({ DATABASE_URL: t.databaseUrl, ANTIBODY_SCHEMA: t.schema });
    const service = running;
    await waitFor(() => service.stdout().split('\n').filter((line) => line.startsWith('IncidentOpened')).length >= 2, {
      timeoutMs: 20_000,
      description: `two IncidentOpened lines on stdout (stderr so far: ${JSON.stringify(service.stderr())})`,
    });
    expect(service.stdout().trim().split('\n')).toEqual([
      `IncidentOpened service=checkout incident=${first.streamId} open=1 opened=1`,
      `IncidentOpened service=checkout incident=${second.streamId} open=2 opened=2`,
    ]);

    service.child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no exit within 10 s of SIGTERM (stderr: ${service.stderr()})`)), 10_000);
    });
    const exit = await Promise.race([service.exited, deadline]).finally(() => clearTimeout(timer));
    expect(exit).toEqual({ code: 0, signal: null });
    expect(service.stderr()).toContain('SIGTERM received; stopping');
  });
});
