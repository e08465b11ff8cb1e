import { randomUUID } from 'node:crypto';
import { createTestStore, testMetadata, waitFor, type TestStore } from '@antibody/testing';
import { runCli } from '../src';

// `antibody patterns` and `antibody report costs` over a real Postgres schema of their own.

let db: TestStore;
beforeAll(async () => {
  db = await createTestStore('clifix');
});
afterAll(async () => {
  await db.cleanup();
});

async function cli(...argv: string[]): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const exitCode = await runCli([...argv, '--schema', db.schema], {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    env: { DATABASE_URL: db.databaseUrl },
  });
  return { exitCode, stdout, stderr };
}

const month = new Date().toISOString().slice(0, 7);

describe('antibody patterns / report costs', () => {
  const kept = randomUUID();
  const retired = randomUUID();

  beforeAll(async () => {
    const m = testMetadata();
    const learned = (patternId: string, errorClass: string) => ({ type: 'PatternLearned', data: { patternId, errorClass, template: { kind: 'ast-rewrite' }, source: 'incident' }, metadata: m });
    const outcome = (patternId: string, success: boolean, successEstimate: number) => ({ type: 'PatternOutcomeRecorded', data: { patternId, incidentId: randomUUID(), success, successEstimate }, metadata: m });
    await db.store.appendToStream(`pattern-${kept}`, [learned(kept, 'TypeError:reduce-empty-array'), outcome(kept, true, 1), outcome(kept, false, 0.9)]);
    await db.store.appendToStream(`pattern-${retired}`, [learned(retired, 'TypeError:not-a-constructor'), { type: 'PatternRetired', data: { patternId: retired, reason: 'estimate 0.31 < 0.5 after 11 uses' }, metadata: m }]);

    const proposed = (source: string, extra: Record<string, unknown>) => ({
      type: 'PatchProposed',
      data: { patchId: randomUUID(), diff: '--- a/x\n+++ b/x\n', files: ['src/x.ts'], rationale: 'r', source, rank: 1, confidence: 0.8, ...extra },
      metadata: m,
    });
    const metered = (tier: string, costUsd: number) => ({ type: 'LlmCallMetered', data: { model: `${tier}-model`, tier, step: 'patch', promptTokens: 100, completionTokens: 10, costUsd }, metadata: m });
    await db.store.appendToStream(`incident-${randomUUID()}`, [metered('small', 0.01), proposed('llm', { model: 'small-model', costUsd: 0.01 })]);
    await db.store.appendToStream(`incident-${randomUUID()}`, [metered('large', 0.03), proposed('llm', { model: 'large-model', costUsd: 0.03 })]);
    await db.store.appendToStream(`incident-${randomUUID()}`, [proposed('template', { templateId: 'guard-clause' })]);
    await db.store.appendToStream(`incident-${randomUUID()}`, [proposed('template', { templateId: 'array-check' })]);
    await db.store.appendToStream(`incident-${randomUUID()}`, [proposed('pattern', { patternId: kept })]);
    await db.store.appendToStream(`incident-${randomUUID()}`, [{ type: 'PatchFailed', data: { reason: 'no template; the LLM tier is off' }, metadata: m }]);
    // The commands read the gap-safe global log: wait until every event appended here is below the
    // horizon (another suite's open transaction on this Postgres can hold it back for a moment).
    await waitFor(
      async () => {
        const { rows } = await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${db.schema}".events`);
        const { events } = await db.store.readAll({ limit: 100_000 });
        return events.length === rows[0]?.n;
      },
      { timeoutMs: 60_000, description: 'the appended events to be readable in the global log' },
    );
  });

  it('lists patterns with estimate, counts and status, rebuilt from events', async () => {
    const r = await cli('patterns');
    expect(r.exitCode).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^PATTERN\s+ERROR CLASS\s+SOURCE\s+ESTIMATE\s+USES\s+OK\s+FAILED\s+STATUS$/);
    expect(lines[1]).toMatch(new RegExp(`^${kept.slice(0, 8)}\\s+TypeError:reduce-empty-array\\s+incident\\s+0\\.900\\s+2\\s+1\\s+1\\s+active$`));
    expect(lines[2]).toMatch(/TypeError:not-a-constructor.*retired \(estimate 0\.31 < 0\.5 after 11 uses\)/);
    const active = JSON.parse((await cli('patterns', '--active', '--json')).stdout) as { patternId: string }[];
    expect(active.map((p) => p.patternId)).toEqual([kept]);
  });

  it('reports the month\'s fixes by source, LLM cost by tier and the savings of template and pattern fixes', async () => {
    const r = await cli('report', 'costs', '--month', month);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain(`Fixes and LLM costs, ${month}`);
    expect(r.stdout).toContain('fixes proposed: 5  (template 2, learned pattern 1, llm 2); no fix: 1');
    expect(r.stdout).toContain('llm calls: 2, cost $0.0400');
    expect(r.stdout).toMatch(/large\s+1 calls\s+\$0\.0300/);
    // Three fixes without a model, at the observed $0.02 per LLM fix.
    expect(r.stdout).toContain('savings: $0.0600 (3 fixes without a model x $0.0200 per LLM fix)');
    const json = JSON.parse((await cli('report', 'costs', '--month', '--json')).stdout) as { month: string; savingsUsd: number };
    expect(json.month).toBe(month);
    expect(json.savingsUsd).toBeCloseTo(0.06);
  });

  it('answers bad input with exit 2 and one line', async () => {
    const r = await cli('report', 'costs', '--month', '2024-13');
    expect(r.exitCode).toBe(2);
    expect(r.stderr.trim()).toBe('antibody: --month must be YYYY-MM (got 2024-13)');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});
