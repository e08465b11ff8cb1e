import type { INestApplication } from '@nestjs/common';
import { createTestStore, uniqueName, type TestStore } from '@antibody/testing';
import { randomUUID } from 'node:crypto';
import { generaliseFix } from '@antibody/fix-kit';
import { createTempRepo, startFakeOpenAi, type TempRepo } from '@antibody/fix-io/testing';
import { testMetadata, waitFor } from '@antibody/testing';
import { openIncident, registerService, startAnalyzer, waitForEvent } from './support';

const CART_V1 = `const prices = new Map([['apple', { amount: 3 }]]);

export function lineTotal(sku: string, qty: number): number {
  const price = prices.get(sku);
  return price.amount * qty;
}

export function checkout(items: { sku: string; qty: number }[]): number {
  let sum = 0;
  for (const item of items) sum += lineTotal(item.sku, item.qty);
  return sum;
}
`;

describe('antibody-analyzer (real Postgres, store-log transport)', () => {
  let t: TestStore;
  let repo: TempRepo;
  let app: INestApplication | undefined;

  beforeAll(async () => {
    t = await createTestStore('analyzer');
  });
  afterAll(async () => {
    await t.cleanup();
  });
  beforeEach(() => {
    repo = createTempRepo();
  });
  afterEach(async () => {
    await app?.close();
    app = undefined;
    repo.remove();
  });

  it('given an incident at a release, when its first sample arrives, then the rule diagnosis reads the code at that commit, not HEAD or the working copy', async () => {
    const release = repo.commit({ 'src/cart.ts': CART_V1 }, 'v1');
    // HEAD moves on (the crash line moves down) and the working copy changes again, uncommitted.
    repo.commit({ 'src/cart.ts': `// v2\n// more\n${CART_V1}` }, 'v2');
    repo.write({ 'src/cart.ts': 'export {}; // local edit\n' });
    const service = uniqueName('shop').replace(/_/g, '-');
    await registerService(t.store, service, repo.dir);
    app = await startAnalyzer(t);

    const streamId = await openIncident(t.store, {
      service,
      release,
      type: 'TypeError',
      message: "Cannot read properties of undefined (reading 'amount')",
      frames: [
        { filename: '/srv/app/src/cart.ts', function: 'checkout', lineno: 10 },
        { filename: '/srv/app/src/cart.ts', function: 'lineTotal', lineno: 5 },
      ],
      samples: 2,
    });
    const events = await waitForEvent(t.store, streamId, ['DiagnosisMade', 'DiagnosisFailed']);
    const made = events.find((e) => e.type === 'DiagnosisMade');
    expect(made?.data).toMatchObject({
      source: 'rule',
      ruleId: 'undefined-property-read',
      errorClass: 'TypeError:undefined-property-access',
      commit: release,
      location: { file: 'src/cart.ts', line: 5, function: 'lineTotal' },
      captures: { prop: 'amount' },
    });
    expect((made?.data as { sites: { suspect?: string }[] }).sites[0]?.suspect).toBe('price');
    expect((made?.data as { rootCause: string }).rootCause).toContain("Property 'amount'");
    // Two samples, one diagnosis.
    await new Promise((r) => setImmediate(r));
    const again = (await t.store.readStream(streamId)).events;
    expect(again.filter((e) => e.type === 'DiagnosisMade' || e.type === 'DiagnosisFailed')).toHaveLength(1);
  });

  it('explains why it cannot diagnose: unregistered service, unknown release, and no rule with the LLM tier off', async () => {
    const release = repo.commit({ 'src/cart.ts': CART_V1 }, 'v1');
    const service = uniqueName('shop').replace(/_/g, '-');
    await registerService(t.store, service, repo.dir);
    app = await startAnalyzer(t);

    const unregistered = await openIncident(t.store, { service: 'nobody-registered-me', release, type: 'TypeError', message: 'x', frames: [{ filename: 'src/cart.ts', lineno: 5 }] });
    const unknownRelease = await openIncident(t.store, { service, release: 'v9.9.9', type: 'TypeError', message: 'x', frames: [{ filename: 'src/cart.ts', lineno: 5 }] });
    const noRule = await openIncident(t.store, { service, release, type: 'WeirdError', message: 'the flux capacitor is out of sync', frames: [{ filename: 'src/cart.ts', function: 'lineTotal', lineno: 5 }] });

    const reason = async (streamId: string): Promise<string> =>
      ((await waitForEvent(t.store, streamId, ['DiagnosisFailed', 'DiagnosisMade'])).find((e) => e.type === 'DiagnosisFailed')?.data as { reason: string } | undefined)?.reason ?? 'no DiagnosisFailed';
    expect(await reason(unregistered)).toMatch(/service nobody-registered-me is not registered/);
    expect(await reason(unknownRelease)).toMatch(/release v9\.9\.9 is not a commit/);
    expect(await reason(noRule)).toMatch(/no rule or learned pattern matches WeirdError.*the LLM tier is off/);
  });

  it('tries learned patterns before rules: a template learned from an earlier fix diagnoses a new instance of its class', async () => {
    const template = generaliseFix('src/a.js', 'function f(xs) {\n  return xs.reduce((a, b) => a + b);\n}\n', 'function f(xs) {\n  return xs.reduce((a, b) => a + b, 0);\n}\n')!;
    const patternId = randomUUID();
    await t.store.appendToStream(`pattern-${patternId}`, [
      { type: 'PatternLearned', data: { patternId, errorClass: 'TypeError:reduce-empty-array', template, source: 'incident' }, metadata: testMetadata() },
    ]);
    const release = repo.commit({ 'src/cents.js': 'function totalCents(prices) {\n  const cents = prices.reduce((acc, p) => acc + p);\n  return cents;\n}\n' });
    const service = uniqueName('shop').replace(/_/g, '-');
    await registerService(t.store, service, repo.dir);
    app = await startAnalyzer(t);
    // Patterns are read from the ledger projection, which the service rebuilds from the log at start.
    await waitFor(async () => (await t.pool.query(`SELECT 1 FROM ${t.schema}.fixkit_patterns WHERE pattern_id = $1`, [patternId]).catch(() => ({ rowCount: 0 }))).rowCount === 1, {
      timeoutMs: 20_000,
      description: 'the pattern in the ledger',
    });
    const streamId = await openIncident(t.store, { service, release, type: 'TypeError', message: 'Reduce of empty array with no initial value', frames: [{ filename: 'src/cents.js', function: 'totalCents', lineno: 2 }] });
    const made = (await waitForEvent(t.store, streamId, ['DiagnosisMade', 'DiagnosisFailed'])).find((e) => e.type === 'DiagnosisMade');
    expect(made?.data).toMatchObject({ source: 'pattern', patternId, errorClass: 'TypeError:reduce-empty-array', location: { file: 'src/cents.js', line: 2 } });
  });

  it('with no rule matching, asks the small LLM tier (openai SDK, local server) and records the call\'s cost', async () => {
    const fake = await startFakeOpenAi(() => ({ content: JSON.stringify({ rootCause: 'the capacitor flux is read before sync()', file: 'src/cart.ts', line: 5, confidence: 0.6 }), promptTokens: 400, completionTokens: 40 }));
    try {
      const release = repo.commit({ 'src/cart.ts': CART_V1 });
      const service = uniqueName('shop').replace(/_/g, '-');
      await registerService(t.store, service, repo.dir);
      app = await startAnalyzer(t, {
        ANTIBODY_LLM_SMALL_BASE_URL: fake.baseUrl,
        ANTIBODY_LLM_SMALL_API_KEY: 'k',
        ANTIBODY_LLM_SMALL_MODEL: 'cheap',
        ANTIBODY_LLM_PRICES: JSON.stringify({ cheap: { inputPerMTok: 0.5, outputPerMTok: 1.5 } }),
      });
      const streamId = await openIncident(t.store, { service, release, type: 'WeirdError', message: 'flux out of sync (token=abc123secret)', frames: [{ filename: 'src/cart.ts', function: 'lineTotal', lineno: 5 }] });
      const events = await waitForEvent(t.store, streamId, ['DiagnosisMade', 'DiagnosisFailed']);
      const cost = (400 * 0.5 + 40 * 1.5) / 1e6;
      expect(events.find((e) => e.type === 'LlmCallMetered')?.data).toEqual({ model: 'cheap', tier: 'small', step: 'diagnosis', promptTokens: 400, completionTokens: 40, costUsd: cost });
      expect(events.find((e) => e.type === 'DiagnosisMade')?.data).toMatchObject({ source: 'llm', model: 'cheap', costUsd: cost, location: { file: 'src/cart.ts', line: 5 } });
      // The error text reached the model scrubbed, as data.
      expect(fake.requests[0]?.messages[1]?.content).toContain('token=[REDACTED]');
      expect(fake.requests[0]?.messages[1]?.content).not.toContain('abc123secret');
    } finally {
      await fake.close();
    }
  });
});
