import { join } from 'node:path';
import { pathRefusal } from '@antibody/fix-kit';
import { diagnoseAndPropose, loadCorpus, mapLimit, runCase, type CaseOutcome } from '@antibody/fix-kit/testing';

// The corpus: buggy TS/JS snippets, each with its own node:test file. For every case the tests
// must fail on the buggy code; a template candidate must make them pass (expect "template"),
// or no template may apply (expect "none", left to the LLM tier), or the policy must block the
// fix (expect "refused").
const corpus = loadCorpus(join(__dirname, 'corpus'));

describe('the buggy-snippet corpus', () => {
  let outcomes: CaseOutcome[];

  beforeAll(async () => {
    outcomes = await mapLimit(corpus, 4, runCase);
  }, 300_000);

  it('has at least 40 cases in both TypeScript and JavaScript', () => {
    expect(corpus.length).toBeGreaterThanOrEqual(40);
    expect(corpus.filter((c) => c.file.endsWith('.ts')).length).toBeGreaterThanOrEqual(15);
    expect(corpus.filter((c) => c.file.endsWith('.js')).length).toBeGreaterThanOrEqual(15);
  });

  it.each(corpus.map((c) => [c.name, c] as const))('%s: the tests fail on the buggy code with the recorded error, and the outcome is as expected', (name, c) => {
    const o = outcomes.find((x) => x.name === name)!;
    expect(o.beforeFailed).toBe(true);
    // The test output shows the thrown error (TAP quotes it, so quotes are ignored); an unhandled rejection shows its reason.
    const unquote = (text: string): string => text.replace(/['"]/g, '');
    const shown = c.observed ?? c.error.message.split('\n')[0]!.slice(0, 40);
    expect(unquote(o.beforeOutput)).toContain(unquote(shown));
    if (c.expect === 'template') expect({ name, fixedBy: o.fixedBy ?? 'no passing candidate' }).toEqual({ name, fixedBy: expect.not.stringMatching(/no passing/) });
    else expect(o.fixedAtRank).toBeUndefined();
    if (c.expect === 'refused') {
      expect(o.candidates).toHaveLength(0);
      expect(o.refused.length).toBeGreaterThan(0);
    }
    if (c.expectFixLine !== undefined) expect(o.fixLine).toBe(c.expectFixLine);
  });

  it('reaches the template hit-rate goal (>= 0.8 of all cases)', () => {
    const hits = outcomes.filter((o) => o.fixedAtRank !== undefined).length;
    expect(hits / outcomes.length).toBeGreaterThanOrEqual(0.8);
  });

  it('never proposes a change to a forbidden or protected path (tests, the policy\'s forbidden globs)', () => {
    const cases = new Map(corpus.map((c) => [c.name, c]));
    for (const o of outcomes) {
      for (const candidate of o.candidates) {
        expect(pathRefusal(candidate.file, cases.get(o.name)!.policy)).toBeUndefined();
        expect(candidate.file).not.toMatch(/\.test\.|^test\//);
        expect(candidate.diff).not.toMatch(/^\+\+\+ b\/.*\.test\./m);
      }
    }
  });

  it('is deterministic: the same case gives the same ranked candidates', async () => {
    for (const c of corpus) {
      const first = await diagnoseAndPropose(c);
      const second = await diagnoseAndPropose(c);
      expect(second.candidates.map((x) => [x.templateId, x.diff, x.confidence])).toEqual(first.candidates.map((x) => [x.templateId, x.diff, x.confidence]));
      const earlier = outcomes.find((o) => o.name === c.name)!;
      expect(first.candidates.map((x) => x.diff)).toEqual(earlier.candidates.map((x) => x.diff));
    }
  });
});
