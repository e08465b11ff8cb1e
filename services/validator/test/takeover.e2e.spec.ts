import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestStore, freePort, testMetadata, waitFor, type TestStore } from '@antibody/testing';
import { cartWith, createRepo, SHOP_FILES, type FixtureRepo } from './fixtures/git-repo';

// Two real validator processes (compiled dist/main.js) on the embedded store-log transport, which
// isolates this spec in its own schema. One is killed with SIGKILL in the middle of a validation;
// the other must take the work over, and exactly one verdict event may exist.
const MAIN = join(__dirname, '..', 'dist', 'main.js');
jest.setTimeout(180_000);

interface Instance {
  readonly name: string;
  readonly child: ChildProcess;
  output(): string;
}

let db: TestStore;
let repo: FixtureRepo;
let workDir: string;
const running: Instance[] = [];

beforeAll(async () => {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing; build it with \`npx tsc -b services/validator\``);
  db = await createTestStore('valtakeover');
  workDir = mkdtempSync(join(tmpdir(), 'antibody-validator-e2e-'));
  // The sandbox user must be able to reach worktrees under it.
  chmodSync(workDir, 0o711);
  // A suite slow enough (a few seconds) for the kill to land mid-run.
  repo = createRepo({
    ...SHOP_FILES,
    'test/slow.test.js': "const { test } = require('node:test');\ntest('slow', () => new Promise((r) => setTimeout(r, 3000)));\n",
  });
});

afterAll(async () => {
  for (const instance of running) instance.child.kill('SIGKILL');
  repo.cleanup();
  rmSync(workDir, { recursive: true, force: true });
  await db.cleanup();
});

async function start(name: string): Promise<Instance> {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env['PATH'],
    HOME: process.env['HOME'],
    DATABASE_URL: db.databaseUrl,
    ANTIBODY_SCHEMA: db.schema,
    PORT: String(await freePort()),
    SERVICE_INSTANCE_ID: name,
    VALIDATOR_WORK_DIR: join(workDir, name),
    VALIDATOR_FLAKY_RERUNS: '0',
  };
  const child = spawn(process.execPath, [MAIN], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (out += c.toString()));
  const instance = { name, child, output: () => out };
  running.push(instance);
  await waitFor(() => out.includes('listening on'), { timeoutMs: 60_000, description: `${name} listening` });
  return instance;
}

it('a validator killed with SIGKILL mid-run is taken over by another instance; exactly one verdict exists', async () => {
  const incidentId = randomUUID();
  const patchId = randomUUID();
  const stream = `incident-${incidentId}`;
  await db.store.appendToStream(
    'service-shop',
    [
      {
        eventId: randomUUID(),
        type: 'ServiceRegistered',
        data: {
          name: 'shop',
          repository: { url: repo.dir, defaultBranch: 'main' },
          commands: { test: 'node --test' },
          language: 'javascript',
          deploy: { adapter: 'none', settings: {} },
          policy: { autoDeploy: false, allowedPaths: ['src/**'], forbiddenPaths: [], budgets: { perIncidentUsd: 1, dailyUsd: 1, monthlyUsd: 1 } },
        },
        metadata: testMetadata(),
      },
    ],
    { expectedVersion: 'any' },
  );
  const a = await start('validator-a');
  const b = await start('validator-b');
  const diff = repo.diff({ 'src/cart.js': cartWith('  return (items || []).reduce((sum, item) => sum + item.price * item.qty, 0);\n') });
  await db.store.appendToStream(
    stream,
    [
      {
        eventId: randomUUID(),
        type: 'IncidentOpened',
        data: {
          incidentId,
          service: 'shop',
          fingerprint: 'f1',
          exception: { type: 'TypeError', value: "Cannot read properties of undefined (reading 'reduce')" },
          release: repo.commit,
          firstSeen: new Date().toISOString(),
        },
        metadata: testMetadata({ correlationId: incidentId }),
      },
      {
        eventId: randomUUID(),
        type: 'PatchProposed',
        data: { patchId, diff, files: ['src/cart.js'], rationale: 'default items to []', source: 'template', templateId: 'null-guard', rank: 1, confidence: 0.9 },
        metadata: testMetadata({ correlationId: incidentId }),
      },
    ],
    { expectedVersion: 'no-stream' },
  );

  const marker = `validating patch ${patchId}`;
  const first = await waitFor(() => [a, b].find((i) => i.output().includes(marker)), { timeoutMs: 60_000, description: 'one instance starts validating' });
  const other = first === a ? b : a;
  first.child.kill('SIGKILL');

  // No failure was captured for this incident: nothing can prove the patch, so its verdict is PatchUnproven.
  const verdicts = async () => (await db.store.readStream(stream)).events.filter((e) => e.type === 'PatchValidated' || e.type === 'PatchRejected' || e.type === 'PatchUnproven');
  await waitFor(async () => ((await verdicts()).length > 0 ? true : undefined), { timeoutMs: 120_000, description: 'a verdict' });
  await waitFor(() => (other.output().includes(`patch ${patchId}: `) ? true : undefined), { timeoutMs: 30_000, description: 'the surviving instance reports the verdict' });

  expect(other.output()).toContain(marker);
  const all = await verdicts();
  expect(all).toHaveLength(1);
  expect(all[0]).toMatchObject({ type: 'PatchUnproven', data: { patchId, reproduction: { status: 'skipped' } } });
  expect(all[0]?.metadata.producer).toMatchObject({ instance: other.name });
});
