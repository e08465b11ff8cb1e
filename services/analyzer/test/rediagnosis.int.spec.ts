// After a rollback the deployer appends DiagnosisRequested; the analyzer diagnoses the incident's
// recorded sample again (or escalates once the rounds are used up). Real Postgres, the service
// in-process on the store-log transport; the deployer's events are appended as it appends them.
import type { INestApplication } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { StoredEvent } from '@antibody/event-store';
import { createTempRepo, startFakeOpenAi, type TempRepo } from '@antibody/fix-io/testing';
import { createTestStore, testMetadata, uniqueName, waitFor, type TestStore } from '@antibody/testing';
import { Diagnoser } from '../src/handlers/diagnoser';
import { DEFAULT_POLICY, openIncident, registerService, startAnalyzer, waitForEvent } from './support';

const CART = `const prices = new Map([['apple', { amount: 3 }]]);

export function lineTotal(sku: string, qty: number): number {
  const price = prices.get(sku);
  return price.amount * qty;
}
`;

const FRAMES = [{ filename: '/srv/app/src/cart.ts', function: 'lineTotal', lineno: 5 }];

// A test may wait for two answers of the analyzer, each up to 150 s when the store's gap-safe reader is held back by another spec's open transaction in the same run: the test's
// own limit must hold both (the waits are conditions with deadlines: a passing test ends at once).
jest.setTimeout(360_000);

describe('antibody-analyzer after a rollback (real Postgres, store-log transport)', () => {
  let t: TestStore;
  let repo: TempRepo;
  let app: INestApplication | undefined;

  beforeAll(async () => {
    t = await createTestStore('analyzer_rediagnosis');
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

  const service = () => uniqueName('shop').replace(/_/g, '-');
  const events = async (streamId: string) => (await t.store.readStream(streamId)).events;

  /** What the patcher, validator and deployer append for one fix that is then rolled back; returns the DiagnosisRequested. */
  async function rollBack(streamId: string, patchId: string, excludePatchIds: string[]): Promise<StoredEvent> {
    const metadata = testMetadata({ correlationId: streamId.replace('incident-', '') });
    const diff = `--- a/src/cart.ts\n+++ b/src/cart.ts\n@@ -4,2 +4,3 @@\n   const price = prices.get(sku);\n+  if (price == null) return 0; // ${patchId.slice(0, 8)}\n   return price.amount * qty;\n`;
    await t.store.appendToStream(streamId, [
      { type: 'PatchProposed', data: { patchId, diff, files: ['src/cart.ts'], rationale: 'guard the missing price', source: 'template', templateId: 'guard-clause', rank: 1, confidence: 0.8 }, metadata },
      { type: 'RolledBack', data: { patchId, reason: 'canary p95 latency above stable (e=31.2)', stage: 5, cause: 'latency-regression' }, metadata },
      { type: 'DiagnosisRequested', data: { reason: `patch ${patchId} was rolled back at 5%: canary slower (latency-regression)`, step: 'rollout', excludePatchIds }, metadata },
    ]);
    return (await events(streamId)).at(-1)!;
  }

  /** Events after `event` in its stream. */
  const after = async (event: StoredEvent) => (await events(event.streamId)).filter((e) => e.streamVersion > event.streamVersion);

  it('given a rule diagnosis whose fix was rolled back, when the deployer asks again, then the same sample is diagnosed again once, noting the excluded patch; a redelivery appends nothing', async () => {
    const release = repo.commit({ 'src/cart.ts': CART });
    const name = service();
    await registerService(t.store, name, repo.dir);
    app = await startAnalyzer(t);
    const streamId = await openIncident(t.store, { service: name, release, type: 'TypeError', message: "Cannot read properties of undefined (reading 'amount')", frames: FRAMES, samples: 2 });
    const first = (await waitForEvent(t.store, streamId, ['DiagnosisMade', 'DiagnosisFailed'])).find((e) => e.type === 'DiagnosisMade')!;

    const p1 = randomUUID();
    const request = await rollBack(streamId, p1, [p1]);
    await waitFor(async () => (await after(request)).some((e) => ['DiagnosisMade', 'DiagnosisFailed', 'IncidentEscalated'].includes(e.type)), { timeoutMs: 60_000, description: 'the answer to DiagnosisRequested' });
    const answer = await after(request);
    expect(answer.map((e) => e.type)).toEqual(['DiagnosisMade']);
    const again = answer[0]!;
    expect(again.metadata.causationId).toBe(request.eventId);
    const { notes: firstNotes, ...firstData } = first.data as { notes: string[] };
    const { notes, ...data } = again.data as { notes: string[] };
    // Same code, same error, same rules: the same diagnosis, plus a note saying which round this is and what is excluded.
    expect(data).toEqual(firstData);
    expect(data).toMatchObject({ source: 'rule', ruleId: 'undefined-property-read', commit: release });
    expect(notes).toEqual([...firstNotes, `diagnosed again after a rollback (round 1 of at most 3): patch ${p1.slice(0, 8)} excluded`]);

    // A redelivery of the request finds it answered.
    expect(await app.get(Diagnoser).decide({ kind: 'rollback', requestId: request.eventId }, streamId)).toEqual({ kind: 'ignore', because: expect.stringMatching(/already answered/) });
    expect((await after(request)).map((e) => e.type)).toEqual(['DiagnosisMade']);
  });

  it('given the bound on rounds is reached, when the next rollback asks again, then the incident ends escalated naming every failed patch, with no new diagnosis', async () => {
    const release = repo.commit({ 'src/cart.ts': CART });
    const name = service();
    await registerService(t.store, name, repo.dir);
    app = await startAnalyzer(t, { ANTIBODY_MAX_ROLLBACK_ROUNDS: '1' });
    const streamId = await openIncident(t.store, { service: name, release, type: 'TypeError', message: "Cannot read properties of undefined (reading 'amount')", frames: FRAMES });
    await waitForEvent(t.store, streamId, ['DiagnosisMade', 'DiagnosisFailed']);

    const [p1, p2] = [randomUUID(), randomUUID()];
    const round1 = await rollBack(streamId, p1, [p1]);
    await waitFor(async () => (await after(round1)).some((e) => e.type === 'DiagnosisMade'), { timeoutMs: 150_000, description: 'round 1 diagnosed' });
    const round2 = await rollBack(streamId, p2, [p1, p2]);
    await waitFor(async () => (await after(round2)).some((e) => e.type === 'IncidentEscalated' || e.type === 'DiagnosisMade'), { timeoutMs: 150_000, description: 'round 2 answered' });
    const answer = await after(round2);
    expect(answer.map((e) => e.type)).toEqual(['IncidentEscalated']);
    expect(answer[0]?.data).toEqual({
      step: 'diagnosis',
      reason: `patches ${p1.slice(0, 8)}, ${p2.slice(0, 8)} failed in production (patch ${p2} was rolled back at 5%: canary slower (latency-regression)); it already went back to diagnosis 1 time, the most allowed (ANTIBODY_MAX_ROLLBACK_ROUNDS=1): a person decides the next step`,
    });
  });

  it('given an LLM diagnosis whose fix was rolled back, when asked again, then the model is told which change failed and why (scrubbed, as data)', async () => {
    const fake = await startFakeOpenAi(() => ({ content: JSON.stringify({ rootCause: 'the flux is read before sync()', file: 'src/cart.ts', line: 5, confidence: 0.6 }), promptTokens: 400, completionTokens: 40 }));
    try {
      const release = repo.commit({ 'src/cart.ts': CART });
      const name = service();
      await registerService(t.store, name, repo.dir);
      app = await startAnalyzer(t, {
        ANTIBODY_LLM_SMALL_BASE_URL: fake.baseUrl,
        ANTIBODY_LLM_SMALL_API_KEY: 'k',
        ANTIBODY_LLM_SMALL_MODEL: 'cheap',
        ANTIBODY_LLM_PRICES: JSON.stringify({ cheap: { inputPerMTok: 0.5, outputPerMTok: 1.5 } }),
      });
      const streamId = await openIncident(t.store, { service: name, release, type: 'WeirdError', message: 'flux out of sync', frames: FRAMES });
      await waitForEvent(t.store, streamId, ['DiagnosisMade', 'DiagnosisFailed']);
      expect(fake.requests).toHaveLength(1);
      expect(JSON.parse(fake.requests[0]!.messages[1]!.content)).not.toHaveProperty('failedFixes');

      const p1 = randomUUID();
      const request = await rollBack(streamId, p1, [p1]);
      await waitFor(async () => (await after(request)).some((e) => e.type === 'DiagnosisMade' || e.type === 'DiagnosisFailed'), { timeoutMs: 60_000, description: 'the LLM re-diagnosis' });
      expect((await after(request)).map((e) => e.type)).toEqual(['LlmCallMetered', 'DiagnosisMade']);
      expect(fake.requests).toHaveLength(2);
      expect(fake.requests[1]?.messages[0]?.content).toMatch(/"failedFixes" lists changes already tried/);
      const user = JSON.parse(fake.requests[1]!.messages[1]!.content) as { failedFixes: { diff: string; outcome: string }[] };
      expect(user.failedFixes).toEqual([
        { diff: expect.stringContaining(`+  if (price == null) return 0; // ${p1.slice(0, 8)}`), outcome: 'rolled back at 5% (latency-regression): canary p95 latency above stable (e=31.2)' },
      ]);
    } finally {
      await fake.close();
    }
  });
  it('given the per-incident LLM budget was spent by the first round, when asked again, then no call is made and the escalation names the budget', async () => {
    const fake = await startFakeOpenAi(() => ({ content: JSON.stringify({ rootCause: 'the flux is read before sync()', file: 'src/cart.ts', line: 5, confidence: 0.6 }), promptTokens: 400, completionTokens: 40 }));
    try {
      const release = repo.commit({ 'src/cart.ts': CART });
      const name = service();
      // A call is estimated at about $0.0004 (the prompt at 4 characters a token + 100 completion tokens) and costs $0.00026:
      // the first fits in $0.0005, the second no longer does.
      await registerService(t.store, name, repo.dir, { ...DEFAULT_POLICY, budgets: { perIncidentUsd: 0.0005, dailyUsd: 5, monthlyUsd: 50 } });
      app = await startAnalyzer(t, {
        ANTIBODY_LLM_SMALL_BASE_URL: fake.baseUrl,
        ANTIBODY_LLM_SMALL_API_KEY: 'k',
        ANTIBODY_LLM_SMALL_MODEL: 'cheap',
        ANTIBODY_LLM_PRICES: JSON.stringify({ cheap: { inputPerMTok: 0.5, outputPerMTok: 1.5 } }),
        ANTIBODY_LLM_MAX_OUTPUT_TOKENS: '100',
      });
      const streamId = await openIncident(t.store, { service: name, release, type: 'WeirdError', message: 'flux out of sync', frames: FRAMES });
      expect((await waitForEvent(t.store, streamId, ['DiagnosisMade', 'DiagnosisFailed'])).map((e) => e.type)).toContain('DiagnosisMade');

      const p1 = randomUUID();
      const request = await rollBack(streamId, p1, [p1]);
      await waitFor(async () => (await after(request)).some((e) => e.type === 'IncidentEscalated' || e.type === 'DiagnosisMade'), { timeoutMs: 60_000, description: 'the answer to the request' });
      const answer = await after(request);
      expect(answer.map((e) => e.type)).toEqual(['DiagnosisFailed', 'IncidentEscalated']);
      expect((answer[0]?.data as { reason: string }).reason).toMatch(/per-incident LLM budget would be exceeded \(spent \$0\.0003 of \$0\.00.*no small tier call was made/);
      expect(answer[1]?.data).toMatchObject({ step: 'diagnosis', budgetExceeded: { scope: 'incident', limitUsd: 0.0005, spentUsd: expect.closeTo(0.00026, 10) } });
      expect(fake.requests).toHaveLength(1);
    } finally {
      await fake.close();
    }
  });
});
