// A diagnosis made after a rollback (DiagnosisRequested) must not get the failed fix again, by id
// or by change. Real Postgres, the patcher in-process on the store-log transport; the deployer's
// and the analyzer's events are appended as they append them; the model is a local server
// speaking the OpenAI wire protocol, driven through the real SDK.
import type { INestApplication } from '@nestjs/common';
import type { StoredEvent } from '@antibody/event-store';
import { createTempRepo, startFakeOpenAi, type FakeChatReply, type FakeChatRequest, type FakeOpenAi, type TempRepo } from '@antibody/fix-io/testing';
import { createTestStore, testMetadata, uniqueName, waitFor, type TestStore } from '@antibody/testing';
import { applyPatch } from 'diff';
import { changeKey } from '../src/domain/exclusion';
import { dataOf, openDiagnosedIncident, registerService, startPatcher } from './support';

const CART = `const prices = new Map([['apple', { amount: 3 }]]);

function lineTotal(sku, qty) {
  const price = prices.get(sku);
  return price.amount * qty;
}

module.exports = { lineTotal };
`;

const TALLY = `function tally(xs) {
  const count = 0;
  for (const x of xs) count += x;
  return count;
}

module.exports = { tally };
`;

const STATS = `function sum(values) {
  return values.reduce((a, b) => a + b);
}

module.exports = { sum };
`;

interface Proposed {
  patchId: string;
  diff: string;
  rank: number;
  source: string;
}

const name = (prefix: string): string => uniqueName(prefix).replace(/_/g, '-');
const ROLLED_BACK_REASON = 'canary p95 latency above stable (e=31.2) token=abc123secret';

describe('antibody-patcher after a rollback (real Postgres, store-log transport)', () => {
  let t: TestStore;
  let repo: TempRepo;
  const apps: INestApplication[] = [];

  beforeEach(async () => {
    t = await createTestStore('patcher_rollback');
    repo = createTempRepo();
  });
  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
    repo.remove();
    await t.cleanup();
  });

  const events = async (streamId: string) => (await t.store.readStream(streamId)).events;
  const after = async (event: StoredEvent) => (await events(event.streamId)).filter((e) => e.streamVersion > event.streamVersion);
  const answered = (types: readonly string[]) => types.some((x) => x === 'PatchProposed' || x === 'PatchFailed');

  /** Waits for the patcher's answer to the diagnosis `event`; returns the events after it. */
  async function answerTo(event: StoredEvent): Promise<StoredEvent[]> {
    await waitFor(async () => answered((await after(event)).map((e) => e.type)), { timeoutMs: 20_000, description: `the patcher's answer to ${event.type} v${event.streamVersion}` });
    return after(event);
  }

  /**
   * What the deployer appends when the judge rolls `patchId` back (RolledBack, DiagnosisRequested
   * excluding `exclude`) and what the analyzer then appends (the same diagnosis again); returns
   * the new DiagnosisMade.
   */
  async function rollBackAndDiagnoseAgain(streamId: string, patchId: string, exclude: string[]): Promise<StoredEvent> {
    const all = await events(streamId);
    const diagnosis = all.find((e) => e.type === 'DiagnosisMade')!;
    const metadata = testMetadata({ correlationId: streamId.replace('incident-', '') });
    await t.store.appendToStream(streamId, [
      { type: 'RolledBack', data: { patchId, reason: ROLLED_BACK_REASON, stage: 5, cause: 'latency-regression' }, metadata },
      { type: 'DiagnosisRequested', data: { reason: `patch ${patchId} was rolled back at 5%: canary slower (latency-regression)`, step: 'rollout', excludePatchIds: exclude }, metadata },
      { type: 'DiagnosisMade', data: diagnosis.data, metadata },
    ]);
    return (await events(streamId)).at(-1)!;
  }

  /** `file` committed with `source`, its service registered, a patcher running and an incident of `error` there diagnosed: its stream. */
  async function diagnosedIncident(
    service: string,
    file: string,
    source: string,
    error: { type: string; message: string; function: string; lineno: number },
    patcherEnv: Record<string, string> = {},
  ): Promise<string> {
    const commit = repo.commit({ [file]: source });
    const registered = name(service);
    await registerService(t.store, registered, repo.dir);
    apps.push(await startPatcher(t, patcherEnv));
    return openDiagnosedIncident(t.store, { service: registered, repo: repo.dir, commit, type: error.type, message: error.message, frames: [{ file, function: error.function, lineno: error.lineno }] });
  }

  async function firstRound(streamId: string): Promise<Proposed[]> {
    const diagnosis = (await events(streamId)).find((e) => e.type === 'DiagnosisMade')!;
    return dataOf<Proposed>(await answerTo(diagnosis), 'PatchProposed');
  }

  it('given the top template fix was rolled back, when the incident is diagnosed again, then the next-ranked candidates are proposed under new ids and the failed change never', async () => {
    const streamId = await diagnosedIncident('shop', 'src/cart.js', CART, { type: 'TypeError', message: "Cannot read properties of undefined (reading 'amount')", function: 'lineTotal', lineno: 5 });
    const round1 = await firstRound(streamId);
    expect(round1.length).toBeGreaterThanOrEqual(2);
    const failed = round1[0]!;

    const again = await rollBackAndDiagnoseAgain(streamId, failed.patchId, [failed.patchId]);
    const round2 = dataOf<Proposed>(await answerTo(again), 'PatchProposed');
    // The diagnosis and the code are the same, so the same candidates come out: all but the failed one, in their order.
    expect(round2.slice(0, round1.length - 1).map((p) => p.diff)).toEqual(round1.slice(1).map((p) => p.diff));
    expect(round2.map((p) => p.rank)).toEqual(round2.map((_, i) => i + 1));
    expect(round2.map((p) => changeKey(p.diff))).not.toContain(changeKey(failed.diff));
    for (const p of round2) expect(round1.map((q) => q.patchId)).not.toContain(p.patchId);
    for (const p of round2) expect(typeof applyPatch(CART, p.diff)).toBe('string');
  });

  it('given the validator rejected the top candidate and the next one was rolled back, when the incident is diagnosed again, then neither change is proposed again: the candidates after them are', async () => {
    const streamId = await diagnosedIncident('shop', 'src/cart.js', CART, { type: 'TypeError', message: "Cannot read properties of undefined (reading 'amount')", function: 'lineTotal', lineno: 5 });
    const round1 = await firstRound(streamId);
    expect(round1.length).toBeGreaterThanOrEqual(3);
    const [rejected, rolledBack] = [round1[0]!, round1[1]!];
    // What the validator appends for the top candidate, before the deployer rolls out the next one.
    await t.store.appendToStream(streamId, [
      { type: 'PatchRejected', data: { patchId: rejected.patchId, reason: '1 test fails: lineTotal of an unknown sku', failingTests: ['lineTotal of an unknown sku'], stage: 'tests' }, metadata: testMetadata({ correlationId: streamId.replace('incident-', '') }) },
    ]);

    const again = await rollBackAndDiagnoseAgain(streamId, rolledBack.patchId, [rolledBack.patchId]);
    const round2 = dataOf<Proposed>(await answerTo(again), 'PatchProposed');
    expect(round2.slice(0, round1.length - 2).map((p) => p.diff)).toEqual(round1.slice(2).map((p) => p.diff));
    expect(round2.map((p) => p.rank)).toEqual(round2.map((_, i) => i + 1));
    expect(round2.map((p) => changeKey(p.diff))).not.toContain(changeKey(rejected.diff));
    expect(round2.map((p) => changeKey(p.diff))).not.toContain(changeKey(rolledBack.diff));
  });

  it('given the only template fix was rolled back and the LLM tier is off, then PatchFailed and the incident ends escalated naming the failed patch', async () => {
    const streamId = await diagnosedIncident('tally', 'src/tally.js', TALLY, { type: 'TypeError', message: 'Assignment to constant variable.', function: 'tally', lineno: 3 });
    const round1 = await firstRound(streamId);
    expect(round1.map((p) => p.source)).toEqual(['template']);

    const again = await rollBackAndDiagnoseAgain(streamId, round1[0]!.patchId, [round1[0]!.patchId]);
    const answer = await answerTo(again);
    expect(answer.map((e) => e.type)).toEqual(['PatchFailed', 'IncidentEscalated']);
    const short = round1[0]!.patchId.slice(0, 8);
    const reason = `every template candidate repeats a fix that failed in production: patch ${short} (rolled back at 5% (latency-regression): ${ROLLED_BACK_REASON})`;
    expect(dataOf<{ reason: string }>(answer, 'PatchFailed')[0]?.reason).toMatch(new RegExp(`^${escape(reason)}; .*the LLM tier is off`));
    expect(dataOf(answer, 'IncidentEscalated')[0]).toMatchObject({ step: 'patch', reason: expect.stringMatching(new RegExp(`^no patch: ${escape(reason)}`)) });
  });

  describe('the LLM tier, told what failed', () => {
    let fake: FakeOpenAi;
    let listens = true;
    // The first answer adds reduce()'s initial value; told that this change failed, a listening
    // model guards the empty array instead, a stubborn one gives the same answer again.
    const model = (request: FakeChatRequest): FakeChatReply => {
      const user = JSON.parse(request.messages.find((m) => m.role === 'user')!.content) as { failedFixes?: unknown[] };
      const edit =
        user.failedFixes && listens
          ? { file: 'src/stats.js', find: '  return values.reduce(', replace: '  if (values.length === 0) return 0;\n  return values.reduce(' }
          : { file: 'src/stats.js', find: 'a + b);', replace: 'a + b, 0);' };
      return { content: JSON.stringify({ rootCause: 'reduce() of an empty array', rationale: 'handle the empty array', confidence: 0.7, edits: [edit] }), promptTokens: 1000, completionTokens: 200 };
    };
    const env = (): Record<string, string> => ({
      ANTIBODY_LLM_SMALL_BASE_URL: fake.baseUrl,
      ANTIBODY_LLM_SMALL_API_KEY: 'k',
      ANTIBODY_LLM_SMALL_MODEL: 'small-model',
      ANTIBODY_LLM_PRICES: JSON.stringify({ 'small-model': { inputPerMTok: 1, outputPerMTok: 2 } }),
    });

    beforeEach(async () => {
      fake = await startFakeOpenAi(model);
    });
    afterEach(async () => {
      await fake.close();
    });

    async function rolledBackLlmFix(): Promise<{ streamId: string; first: Proposed; again: StoredEvent }> {
      const streamId = await diagnosedIncident('stats', 'src/stats.js', STATS, { type: 'TypeError', message: 'Reduce of empty array with no initial value', function: 'sum', lineno: 2 }, env());
      const [first] = await firstRound(streamId);
      expect(first).toMatchObject({ source: 'llm', rank: 1 });
      return { streamId, first: first!, again: await rollBackAndDiagnoseAgain(streamId, first!.patchId, [first!.patchId]) };
    }

    it('given the LLM fix was rolled back, then the model is told the failed change and why (scrubbed, as data), and its different fix is proposed', async () => {
      listens = true;
      const { first, again } = await rolledBackLlmFix();
      const round2 = dataOf<Proposed>(await answerTo(again), 'PatchProposed');
      expect(fake.requests).toHaveLength(2);
      expect(JSON.parse(fake.requests[0]!.messages[1]!.content)).not.toHaveProperty('failedFixes');
      expect(fake.requests[1]!.messages[0]!.content).toMatch(/"failedFixes" lists changes already tried for this error that failed in production/);
      expect((JSON.parse(fake.requests[1]!.messages[1]!.content) as { failedFixes: unknown }).failedFixes).toEqual([
        { diff: first.diff, outcome: 'rolled back at 5% (latency-regression): canary p95 latency above stable (e=31.2) token=[REDACTED]' },
      ]);
      expect(round2).toHaveLength(1);
      expect(round2[0]).toMatchObject({ source: 'llm', rank: 1 });
      expect(round2[0]!.patchId).not.toBe(first.patchId);
      expect(applyPatch(STATS, round2[0]!.diff)).toBe(STATS.replace('  return values.reduce(', '  if (values.length === 0) return 0;\n  return values.reduce('));
    });

    it('given the model answers with the failed change again, then it is not proposed: PatchFailed with the cost, escalated naming the failed patch', async () => {
      listens = false;
      const { first, again } = await rolledBackLlmFix();
      const answer = await answerTo(again);
      expect(answer.map((e) => e.type)).toEqual(['LlmCallMetered', 'PatchFailed', 'IncidentEscalated']);
      const short = first.patchId.slice(0, 8);
      const failed = dataOf<{ reason: string; costUsd: number }>(answer, 'PatchFailed')[0]!;
      expect(failed.reason).toBe(
        `no template of rule reduce-empty-array fits the code at src/stats.js:2 (after patch ${short} (rolled back at 5% (latency-regression): ${ROLLED_BACK_REASON})); ` +
          `the small tier's answer repeats patch ${short} (rolled back at 5% (latency-regression): ${ROLLED_BACK_REASON}): the same change is not proposed again`,
      );
      expect(failed.costUsd).toBeCloseTo((1000 * 1 + 200 * 2) / 1e6, 10);
      expect(dataOf<{ reason: string; step: string }>(answer, 'IncidentEscalated')[0]).toEqual({ step: 'patch', reason: `no patch: ${failed.reason}` });
    });
  });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
