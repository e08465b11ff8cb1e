import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
// The spec checks `antibody logs` in process; the service itself never imports the CLI.
// eslint-disable-next-line @nx/enforce-module-boundaries
import { runCli } from '@antibody/cli';
import { patchIdSchema } from '@antibody/contracts';
import type { ValidationRequest, ValidationSettings } from '../src/handlers/validate-patch';
import { detectIsolation } from '../src/infrastructure/sandbox';
import { cartWith, SHOP_FAILURE, SHOP_FILES, type FixtureRepo } from './fixtures/git-repo';
import { useValidation } from './fixtures/validation';

// Real git repositories, real sandboxed runs, real Postgres for logs and the baseline cache.
jest.setTimeout(120_000);

const settings: ValidationSettings = {
  limits: { timeLimitMs: 30_000, memoryBytes: 2 * 2 ** 30, maxProcesses: 64, outputCapBytes: 2 ** 20 },
  installTimeLimitMs: 60_000,
  flakyReruns: 2,
};
const { validate, repo: createShop, fullLogs, db } = useValidation('validator', settings);

function shop(files: Record<string, string> = {}): FixtureRepo {
  return createShop({ ...SHOP_FILES, ...files });
}

function request(repo: FixtureRepo, diff: string, overrides: Partial<ValidationRequest> = {}): ValidationRequest {
  return {
    patchId: patchIdSchema.parse(randomUUID()),
    diff,
    release: repo.commit,
    failure: SHOP_FAILURE,
    service: {
      repository: { url: repo.dir, defaultBranch: 'main' },
      commands: { test: 'node --test' },
      policy: { allowedPaths: ['src/**'], forbiddenPaths: [] },
    },
    ...overrides,
  };
}

const FIX = '  return (items || []).reduce((sum, item) => sum + item.price * item.qty, 0);\n';

describe('validatePatch on real repositories', () => {
  it('validates a good patch: baseline tests still pass and the generated reproduction now passes', async () => {
    const repo = shop();
    const req = request(repo, repo.diff({ 'src/cart.js': cartWith(FIX) }));
    const verdict = await validate(req);
    expect(verdict.type).toBe('PatchValidated');
    if (verdict.type !== 'PatchValidated') return;
    expect(verdict.data.commit).toBe(repo.commit);
    expect(verdict.data.reproduction).toMatchObject({ status: 'reproduced', testFile: `test/antibody-repro-${req.patchId.slice(0, 8)}.test.js` });
    expect(verdict.data.reproduction.diff).toContain('+++ b/test/antibody-repro-');
    expect(verdict.data.tests).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: 'total sums prices', status: 'passed', baseline: 'passed' }),
        expect.objectContaining({ name: 'count counts items', status: 'passed', baseline: 'passed' }),
      ]),
    );
    // The differential check records the suite's calls to src/cart.js and replays them on both trees.
    expect(verdict.data.logs?.map((l) => l.step)).toEqual(['test:baseline', 'record:baseline', 'replay:baseline', 'replay:baseline:again', 'reproduction:baseline', 'test:patched', 'reproduction:patched', 'replay:patched']);
    expect(await fullLogs(req.patchId)).toContain('TAP version');

    // The full logs are retrievable with `antibody logs <patchId>`.
    let stdout = '';
    let stderr = '';
    const io = { stdout: { write: (t: string) => (stdout += t) }, stderr: { write: (t: string) => (stderr += t) }, env: {} };
    const flags = ['--database-url', db().databaseUrl, '--schema', db().schema];
    expect(await runCli([...flags, 'logs', req.patchId, '--step', 'test:patched'], io)).toBe(0);
    expect(stdout).toMatch(/^== test:patched · (NODE_OPTIONS=.* )?node --test · exit 0 · /);
    expect(stdout).toContain('# pass 3');
    expect(await runCli([...flags, 'logs', 'not-a-uuid'], io)).toBe(2);
    expect(await runCli([...flags, 'logs', randomUUID()], io)).toBe(1);
    expect(stderr).toContain('antibody: no validation logs for patch');
  });

  it('records each step\'s own sandbox limits: the install\'s host network and time limit are not shown as the test runs\'', async () => {
    const repo = shop();
    const base = request(repo, repo.diff({ 'src/cart.js': cartWith(FIX) }), { failure: undefined });
    const verdict = await validate({ ...base, service: { ...base.service, commands: { install: 'true', test: 'node --test' } } });
    expect(verdict.type).toBe('PatchUnproven');
    const sandbox = verdict.data.sandbox!;
    const network = detectIsolation().mode === 'namespaces' ? 'loopback-only' : 'host';
    expect(sandbox).toMatchObject({ network, limits: expect.arrayContaining(['timeout 30s']) });
    expect(sandbox.steps?.map((s) => s.step)).toEqual(['install', 'test:baseline', 'record:baseline', 'replay:baseline', 'replay:baseline:again', 'test:patched', 'replay:patched']);
    expect(sandbox.steps?.[0]).toMatchObject({ step: 'install', network: 'host', limits: expect.arrayContaining(['timeout 60s']) });
    expect(sandbox.steps?.[5]).toMatchObject({ step: 'test:patched', network, limits: expect.arrayContaining(['timeout 30s']) });
  });

  it('rejects a patch that breaks another test, naming that test', async () => {
    const repo = shop();
    const broken = cartWith(FIX).replace('return items.length;', 'return items.length + 1;');
    const verdict = await validate(request(repo, repo.diff({ 'src/cart.js': broken })));
    expect(verdict).toMatchObject({ type: 'PatchRejected', data: { stage: 'tests', failingTests: ['count counts items'] } });
    expect(verdict.data).toMatchObject({ reason: '1 test that passed on the baseline fails with the patch in all 3 runs: "count counts items".' });
  });

  it('rejects a patch that does not fix the reproduction', async () => {
    const repo = shop();
    const cosmetic = cartWith('  // sums the cart\n  return items.reduce((sum, item) => sum + item.price * item.qty, 0);\n');
    const verdict = await validate(request(repo, repo.diff({ 'src/cart.js': cosmetic })));
    expect(verdict).toMatchObject({ type: 'PatchRejected', data: { stage: 'reproduction', failingTests: ['antibody reproduction: TypeError in total'] } });
    expect(verdict.data).toMatchObject({ reason: expect.stringContaining('does not fix the reproduction') });
  });

  it('says plainly when no reproduction can be built: the patch is unproven, never validated, though every test passes', async () => {
    const repo = shop();
    const diff = repo.diff({ 'src/cart.js': cartWith(FIX) });
    const first = await validate(request(repo, diff, { failure: undefined }));
    expect(first).toMatchObject({ type: 'PatchUnproven', data: { reason: expect.stringContaining('no failure was captured for this incident'), reproduction: { status: 'skipped' } } });
    const again = request(repo, diff, { failure: undefined });
    expect(await validate(again)).toMatchObject({ type: 'PatchUnproven' });
    // The second validation of the same commit and command reused the cached baseline.
    expect(await fullLogs(again.patchId)).toContain('Baseline results reused from the cache');
  });

  it('rejects a patch that does not apply cleanly, and one touching a forbidden path, before running anything', async () => {
    const repo = shop();
    const stale = repo.diff({ 'src/cart.js': cartWith(FIX) }).replace('items.reduce', 'items.reduceX');
    expect(await validate(request(repo, stale))).toMatchObject({ type: 'PatchRejected', data: { stage: 'apply', reason: expect.stringContaining('does not apply cleanly') } });
    const testEdit = repo.diff({ 'test/cart.test.js': 'require("node:test")("x", () => {});\n' });
    expect(await validate(request(repo, testEdit))).toMatchObject({
      type: 'PatchRejected',
      data: { stage: 'policy', violations: [expect.stringMatching(/^test\/cart\.test\.js is a protected path \(test file\)/)] },
    });
  });

  it('detects a flaky test as flaky instead of blaming the patch', async () => {
    // Fails only on the 3rd run of the suite within one worktree: baseline (1st) and the differential
    // check's recording (2nd) pass, patched (3rd) fails, its re-run (4th) passes.
    const flaky = `const { test } = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const path = require('node:path');
test('sometimes fails', () => {
  const file = path.join(__dirname, '..', '.runs');
  const n = (fs.existsSync(file) ? Number(fs.readFileSync(file, 'utf8')) : 0) + 1;
  fs.writeFileSync(file, String(n));
  assert.notEqual(n, 3, 'fails on the third run');
});
`;
    const repo = shop({ 'test/flaky.test.js': flaky });
    const verdict = await validate(request(repo, repo.diff({ 'src/cart.js': cartWith(FIX) })));
    expect(verdict).toMatchObject({ type: 'PatchValidated', data: { flakyTests: ['sometimes fails'] } });
    if (verdict.type === 'PatchValidated') expect(verdict.data.tests.find((t) => t.name === 'sometimes fails')).toMatchObject({ status: 'flaky', baseline: 'passed' });
  });
});

describe('the sandbox contains hostile patches and rejects them with the reason', () => {
  const namespaces = detectIsolation().mode === 'namespaces';

  it('a patch reading environment secrets sees none of the validator\'s environment', async () => {
    const secret = `s3cr3t-${randomUUID()}`;
    process.env['ANTIBODY_TEST_SECRET'] = secret;
    try {
      const repo = shop();
      const leaky = cartWith(`  console.log('LEAK[' + (process.env.ANTIBODY_TEST_SECRET || process.env.DATABASE_URL || 'none') + ']');\n${FIX}`);
      const req = request(repo, repo.diff({ 'src/cart.js': leaky }));
      const verdict = await validate(req);
      expect(verdict).toMatchObject({ type: 'PatchRejected', data: { stage: 'policy', violations: [expect.stringContaining('reads environment variables (src/cart.js:')] } });
      const logs = await fullLogs(req.patchId);
      expect(logs).toContain('LEAK[none]');
      expect(logs).not.toContain(secret);
      expect(JSON.stringify(verdict)).not.toContain(secret);
    } finally {
      delete process.env['ANTIBODY_TEST_SECRET'];
    }
  });

  (namespaces ? it : it.skip)('a patch writing outside its worktree is blocked (read-only filesystem)', async () => {
    const outside = mkdtempSync(join(tmpdir(), 'antibody-outside-'));
    // World-writable, so that only the read-only mount can stop the write.
    chmodSync(outside, 0o777);
    const target = join(outside, 'pwned');
    try {
      const repo = shop();
      const writer = cartWith(`  require('fs').writeFileSync(${JSON.stringify(target)}, 'x');\n${FIX}`);
      const verdict = await validate(request(repo, repo.diff({ 'src/cart.js': writer })));
      expect(existsSync(target)).toBe(false);
      expect(verdict).toMatchObject({ type: 'PatchRejected', data: { stage: 'tests', reason: expect.stringContaining('a write outside the worktree was blocked by the sandbox (EROFS on ' + target + ')') } });
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });

  (namespaces ? it : it.skip)('a patch opening a network connection cannot reach the host (here: its Postgres)', async () => {
    const repo = shop();
    const caller = cartWith(
      FIX,
      `const socket = require('net').connect(5432, '127.0.0.1');
socket.on('connect', () => { console.log('CONNECTED-TO-HOST'); socket.destroy(); });
socket.on('error', (e) => { console.error('network error: ' + e.message); process.exitCode = 1; });
`,
    );
    const req = request(repo, repo.diff({ 'src/cart.js': caller }));
    const verdict = await validate(req);
    expect(await fullLogs(req.patchId)).not.toContain('CONNECTED-TO-HOST');
    expect(verdict).toMatchObject({ type: 'PatchRejected', data: { reason: expect.stringContaining('network access was blocked by the sandbox (ECONNREFUSED 127.0.0.1:5432)') } });
  });

  it('a fork bomb is bounded by the process limit and killed with its whole group at the time limit', async () => {
    const marker = `antibody-bomb-${randomUUID().slice(0, 8)}`;
    const repo = shop();
    const bomb = cartWith(`  require('child_process').execFileSync('sh', ['-c', 'b() { b | b & }; b; sleep 1000', ${JSON.stringify(marker)}], { stdio: 'inherit' });\n${FIX}`);
    const verdict = await validate(request(repo, repo.diff({ 'src/cart.js': bomb })), { limits: { ...settings.limits, timeLimitMs: 8_000 }, flakyReruns: 0 });
    expect(verdict).toMatchObject({ type: 'PatchRejected', data: { stage: 'tests' } });
    const violations = (verdict.data as { violations?: string[] }).violations ?? [];
    expect(violations).toContain('the run exceeded the time limit of 8 s and its whole process group was killed');
    if (namespaces) expect(violations).toContain('the process limit was reached (fork bomb or runaway process creation)');
    expect(execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' })).not.toContain(marker);
  });

  it('a patch that sleeps forever is killed at the time limit and rejected with that reason', async () => {
    const repo = shop();
    const sleeper = cartWith(`  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);\n${FIX}`);
    const verdict = await validate(request(repo, repo.diff({ 'src/cart.js': sleeper })), { limits: { ...settings.limits, timeLimitMs: 6_000 }, flakyReruns: 0 });
    expect(verdict).toMatchObject({
      type: 'PatchRejected',
      data: { stage: 'tests', reason: 'The patch was contained by the sandbox: the run exceeded the time limit of 6 s and its whole process group was killed.' },
    });
  });
});
