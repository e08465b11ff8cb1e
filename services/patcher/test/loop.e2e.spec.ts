import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { applyPatch } from 'diff';
import { createTempRepo, type TempRepo } from '@antibody/fix-io/testing';
import { createTestStore, freePort, testMetadata, waitFor, type TestStore } from '@antibody/testing';

// antibody-analyzer and antibody-patcher as real processes (compiled dist/, store-log transport on a
// schema of their own): an incident and its first sample become a diagnosis, then ranked patches.
const SERVICES = join(__dirname, '..', '..');

const CART = `const prices = new Map([['apple', { amount: 3 }]]);

function lineTotal(sku, qty) {
  const price = prices.get(sku);
  return price.amount * qty;
}

function checkout(items) {
  let sum = 0;
  for (const item of items) sum += lineTotal(item.sku, item.qty);
  return sum;
}

module.exports = { checkout };
`;

describe('incident -> diagnosis -> patch, through the analyzer and patcher processes', () => {
  let t: TestStore;
  let repo: TempRepo;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    t = await createTestStore('loop');
    repo = createTempRepo();
  });
  afterAll(async () => {
    for (const child of children) child.kill('SIGTERM');
    await Promise.all(children.map((c) => new Promise((resolve) => (c.exitCode !== null ? resolve(null) : c.once('exit', resolve)))));
    repo.remove();
    await t.cleanup();
  });

  it('proposes a guard at the line that crashed, read from the release commit', async () => {
    const release = repo.commit({ 'src/cart.js': CART, 'test/cart.test.js': '// tests\n' });
    for (const service of ['analyzer', 'patcher']) {
      const port = await freePort();
      const child = spawn(process.execPath, [join(SERVICES, service, 'dist', 'main.js')], {
        env: { PATH: process.env['PATH'], HOME: process.env['HOME'], DATABASE_URL: t.databaseUrl, ANTIBODY_SCHEMA: t.schema, PORT: String(port), LOG_LEVEL: 'warn' },
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      children.push(child);
      await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/health`).catch(() => undefined))?.ok === true, { timeoutMs: 30_000, description: `${service} /health` });
    }
    await t.store.appendToStream('service-shop', [
      {
        type: 'ServiceRegistered',
        data: {
          name: 'shop', repository: { url: repo.dir, defaultBranch: 'main' }, commands: { test: 'node --test' }, language: 'javascript', deploy: { adapter: 'none', settings: {} },
          policy: { autoDeploy: false, allowedPaths: ['src/**'], forbiddenPaths: [], budgets: { perIncidentUsd: 1, dailyUsd: 1, monthlyUsd: 1 } },
        },
        metadata: testMetadata(),
      },
    ]);
    const incidentId = randomUUID();
    const streamId = `incident-${incidentId}`;
    const metadata = testMetadata({ correlationId: incidentId });
    const exception = { type: 'TypeError', value: "Cannot read properties of undefined (reading 'amount')" };
    const frames = [
      { filename: '/srv/shop/src/cart.js', function: 'checkout', lineno: 10, inApp: true },
      { filename: '/srv/shop/src/cart.js', function: 'lineTotal', lineno: 5, inApp: true },
    ];
    await t.store.appendToStream(streamId, [
      { type: 'IncidentOpened', data: { incidentId, service: 'shop', fingerprint: 'f'.repeat(16), exception, release, firstSeen: new Date().toISOString() }, metadata },
      { type: 'ErrorRecorded', data: { exception, frames, tags: {}, release, receivedAt: new Date().toISOString() }, metadata },
    ]);
    await waitFor(async () => (await t.store.readStream(streamId)).events.some((e) => e.type === 'PatchProposed' || e.type === 'PatchFailed'), { timeoutMs: 30_000, description: 'PatchProposed' });
    const events = (await t.store.readStream(streamId)).events;
    expect(events.map((e) => e.type)).toEqual(expect.arrayContaining(['DiagnosisMade', 'PatchProposed']));
    const diagnosis = events.find((e) => e.type === 'DiagnosisMade')!;
    expect(diagnosis.data).toMatchObject({ source: 'rule', commit: release, location: { file: 'src/cart.js', line: 5 } });
    const best = events.find((e) => e.type === 'PatchProposed' && (e.data as { rank: number }).rank === 1)!;
    expect(best.metadata).toMatchObject({ causationId: diagnosis.eventId, correlationId: incidentId });
    const patched = applyPatch(CART, (best.data as { diff: string }).diff);
    expect(patched).toContain('  if (price == null) return 0;\n  return price.amount * qty;');
  });
});
