import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { patchIdSchema } from '@antibody/contracts';
import { createTestStore, type TestStore } from '@antibody/testing';
import { validatePatch, type ValidationRequest, type ValidationSettings, type VerdictEvent } from '../src/handlers/validate-patch';
import { ValidationStore } from '../src/infrastructure/validation-store';
import { Workspaces } from '../src/infrastructure/workspace';
import { createRepo, SHOP_FAILURE, type FixtureRepo } from './fixtures/git-repo';
import { copyRunner, installedRunner } from './fixtures/runners';

// Repositories tested with Mocha and with Vitest, validated through the real validatePatch: the
// runners come from the npm registry (installed once per machine), the runs from the sandbox,
// the logs and the baseline cache from real Postgres.
jest.setTimeout(300_000);

let db: TestStore;
let store: ValidationStore;
let workDir: string;
let workspaces: Workspaces;
let mocha: string;
let vitest: string;
const repos: FixtureRepo[] = [];
// Vitest instantiates WebAssembly, which reserves far more address space than it uses: under the
// sandbox's per-process address-space limit (RLIMIT_AS) even 16 GiB fails with "Cannot allocate
// Wasm memory". Until the sandbox limits resident memory instead, these runs get 1 TiB.
const settings: ValidationSettings = {
  limits: { timeLimitMs: 60_000, memoryBytes: 2 ** 40, maxProcesses: 128, outputCapBytes: 4 * 2 ** 20 },
  installTimeLimitMs: 120_000,
  flakyReruns: 1,
};

beforeAll(async () => {
  mocha = installedRunner('mocha@11.8.0');
  vitest = installedRunner('vitest@3.2.7');
  db = await createTestStore('validator_runners');
  store = new ValidationStore(db.pool, db.schema);
  await store.migrate();
  workDir = mkdtempSync(join(tmpdir(), 'antibody-validator-runners-'));
  workspaces = new Workspaces(workDir);
});

afterAll(async () => {
  for (const repo of repos) repo.cleanup();
  rmSync(workDir, { recursive: true, force: true });
  await db?.cleanup();
});

const TOTAL_BUG = '  return items.reduce((sum, item) => sum + item.price * item.qty, 0);\n';
const TOTAL_FIX = '  return (items || []).reduce((sum, item) => sum + item.price * item.qty, 0);\n';
const CART = (exports: 'cjs' | 'esm', body: string) => `${exports === 'esm' ? 'export ' : ''}function total(items) {
${body}}

${exports === 'esm' ? 'export ' : ''}function count(items) {
  return items.length;
}
${exports === 'cjs' ? '\nmodule.exports = { total, count };\n' : ''}`;

/** A CommonJS package tested with Mocha and node:assert, three tests in two suites. */
function mochaRepo(): FixtureRepo {
  const repo = createRepo({
    'package.json': JSON.stringify({ name: 'shop-mocha', version: '1.0.0', private: true, scripts: { test: 'mocha' }, devDependencies: { mocha: '^11.8.0' } }, null, 2),
    'src/cart.js': CART('cjs', TOTAL_BUG),
    'test/cart.test.js': `const assert = require('node:assert/strict');
const { total, count } = require('../src/cart.js');

describe('cart', () => {
  it('total sums prices', () => {
    assert.equal(total([{ price: 2, qty: 3 }, { price: 1, qty: 1 }]), 7);
  });

  it('count counts items', () => {
    assert.equal(count([{}, {}]), 2);
  });

  describe('empty', () => {
    it('total of no items is 0', () => {
      assert.equal(total([]), 0);
    });
  });
});
`,
  });
  repos.push(repo);
  return repo;
}

/** An ES module package tested with Vitest. */
function vitestRepo(): FixtureRepo {
  const repo = createRepo({
    'package.json': JSON.stringify({ name: 'shop-vitest', version: '1.0.0', private: true, type: 'module', scripts: { test: 'vitest run' }, devDependencies: { vitest: '^3.2.7' } }, null, 2),
    'src/cart.js': CART('esm', TOTAL_BUG),
    'test/cart.test.js': `import { describe, expect, it } from 'vitest';
import { count, total } from '../src/cart.js';

describe('cart', () => {
  it('total sums prices', () => {
    expect(total([{ price: 2, qty: 3 }, { price: 1, qty: 1 }])).toBe(7);
  });

  it('count counts items', () => {
    expect(count([{}, {}])).toBe(2);
  });
});
`,
  });
  repos.push(repo);
  return repo;
}

function request(repo: FixtureRepo, runner: string, diff: string): ValidationRequest {
  return {
    patchId: patchIdSchema.parse(randomUUID()),
    diff,
    release: repo.commit,
    failure: SHOP_FAILURE,
    service: {
      repository: { url: repo.dir, defaultBranch: 'main' },
      commands: { install: copyRunner(runner), test: 'npm test' },
      policy: { allowedPaths: ['src/**'], forbiddenPaths: [] },
    },
  };
}

async function validate(req: ValidationRequest): Promise<VerdictEvent> {
  return validatePatch(req, { workspaces, store, settings, now: () => performance.now() });
}

async function stepCommand(patchId: string, step: string): Promise<string | undefined> {
  const { rows } = await db.pool.query<{ command: string }>(`SELECT command FROM "${db.schema}".validation_logs WHERE patch_id = $1 AND step = $2 ORDER BY seq LIMIT 1`, [patchId, step]);
  return rows[0]?.command;
}

describe('a Mocha repository', () => {
  it('gets every test\'s own result and a regression test written for Mocha, which proves the fix', async () => {
    const repo = mochaRepo();
    const req = request(repo, mocha, repo.diff({ 'src/cart.js': CART('cjs', TOTAL_FIX) }));
    const verdict = await validate(req);
    expect(verdict.type).toBe('PatchValidated');
    if (verdict.type !== 'PatchValidated') return;
    expect(verdict.data.tests.map((t) => [t.name, t.status, t.baseline])).toEqual(
      expect.arrayContaining([
        ['Mocha Tests > cart > total sums prices', 'passed', 'passed'],
        ['Mocha Tests > cart > count counts items', 'passed', 'passed'],
        ['Mocha Tests > cart empty > total of no items is 0', 'passed', 'passed'],
      ]),
    );
    // The regression test is in the suite the patched tree runs (it is committed with the fix).
    expect(verdict.data.tests).toHaveLength(4);
    expect(verdict.data.tests).toContainEqual(expect.objectContaining({ name: 'Mocha Tests > antibody reproduction: TypeError in total', status: 'passed' }));
    const testFile = `test/antibody-repro-${req.patchId.slice(0, 8)}.test.js`;
    expect(verdict.data.reproduction).toMatchObject({ status: 'reproduced', testFile });
    const diff = verdict.data.reproduction.diff ?? '';
    expect(diff).toContain("+const assert = require('node:assert/strict');\n+const { total } = require('../src/cart.js');\n");
    expect(diff).toContain("+it('antibody reproduction: TypeError in total', async () => {\n+  assert.notDeepStrictEqual(await thrownBy(() => total()), captured);\n");
    expect(diff).not.toContain('JSON.parse');
    expect(await stepCommand(req.patchId, 'test:baseline')).toMatch(/^npm test -- --reporter=xunit --reporter-option output=\S+\/mocha\.xml$/);
    expect(await stepCommand(req.patchId, 'reproduction:baseline')).toMatch(new RegExp(`^\\./node_modules/\\.bin/mocha ${testFile} --reporter=xunit `));
  });

  it('rejects a patch that breaks one of its tests, naming that test', async () => {
    const repo = mochaRepo();
    const broken = CART('cjs', TOTAL_FIX).replace('return items.length;', 'return items.length + 1;');
    const verdict = await validate(request(repo, mocha, repo.diff({ 'src/cart.js': broken })));
    expect(verdict).toMatchObject({ type: 'PatchRejected', data: { stage: 'tests', failingTests: ['Mocha Tests > cart > count counts items'] } });
  });
});

describe('a Vitest repository (an ES module package)', () => {
  it('gets every test\'s own result and a regression test written for Vitest with imports, which proves the fix', async () => {
    const repo = vitestRepo();
    const req = request(repo, vitest, repo.diff({ 'src/cart.js': CART('esm', TOTAL_FIX) }));
    const verdict = await validate(req);
    expect(verdict.type).toBe('PatchValidated');
    if (verdict.type !== 'PatchValidated') return;
    const testFile = `test/antibody-repro-${req.patchId.slice(0, 8)}.test.js`;
    expect(verdict.data.tests.map((t) => [t.name, t.status, t.baseline])).toEqual([
      [`${testFile} > antibody reproduction: TypeError in total`, 'passed', undefined],
      ['test/cart.test.js > cart > total sums prices', 'passed', 'passed'],
      ['test/cart.test.js > cart > count counts items', 'passed', 'passed'],
    ]);
    expect(verdict.data.reproduction).toMatchObject({ status: 'reproduced', testFile });
    const diff = verdict.data.reproduction.diff ?? '';
    expect(diff).toContain("+import { expect, test } from 'vitest';\n+import { total } from '../src/cart.js';\n");
    expect(diff).toContain('+  expect(await thrownBy(() => total())).not.toEqual(captured);\n');
    expect(await stepCommand(req.patchId, 'test:baseline')).toMatch(/^npm test -- --reporter=default --reporter=json --outputFile\.json=\S+\/vitest\.json$/);
  });
});
