import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { computeGrouping } from './fingerprint';
import { parseV8Stack, type Frame } from './stack';

interface CorpusEntry {
  name: string;
  stack: string;
  group?: string;
  expect: { type: string; message: string; frames: number; innermost: (Partial<Frame> & { inApp: boolean }) | null };
}

const corpus = JSON.parse(readFileSync(join(__dirname, '..', '..', 'test', 'fixtures', 'v8-stacks.json'), 'utf8')) as CorpusEntry[];

describe('V8 stack parsing over a corpus of real-world stacks', () => {
  it('has at least 30 varied stacks', () => {
    expect(corpus.length).toBeGreaterThanOrEqual(30);
  });

  it.each(corpus.map((entry) => [entry.name, entry] as const))('parses: %s', (_name, entry) => {
    const parsed = parseV8Stack(entry.stack);
    expect(parsed.type).toBe(entry.expect.type);
    expect(parsed.message).toBe(entry.expect.message);
    expect(parsed.frames).toHaveLength(entry.expect.frames);
    const innermost = parsed.frames[parsed.frames.length - 1];
    if (entry.expect.innermost === null) expect(innermost).toBeUndefined();
    else expect(innermost).toMatchObject(entry.expect.innermost);
  });
});

describe('grouping over the corpus', () => {
  const groupOf = (entry: CorpusEntry) => {
    const parsed = parseV8Stack(entry.stack);
    return computeGrouping({ exceptionType: parsed.type, message: parsed.message, frames: parsed.frames }).fingerprint;
  };

  it('groups the same bug thrown from different lines, releases and install paths together', () => {
    const labelled = corpus.filter((e) => e.group !== undefined);
    const byGroup = new Map<string, Set<string>>();
    for (const entry of labelled) byGroup.set(entry.group!, (byGroup.get(entry.group!) ?? new Set()).add(groupOf(entry)));
    for (const [group, fingerprints] of byGroup) expect([group, fingerprints.size]).toEqual([group, 1]);
  });

  it('keeps different root causes apart: every unlabelled stack has a fingerprint of its own', () => {
    const fingerprints = new Map<string, string>();
    for (const entry of corpus) {
      const fingerprint = groupOf(entry);
      const key = entry.group ?? entry.name;
      const owner = fingerprints.get(fingerprint);
      if (owner !== undefined) expect(owner).toBe(key);
      fingerprints.set(fingerprint, key);
    }
    expect(new Set(corpus.map((e) => e.group ?? e.name)).size).toBe(new Set([...fingerprints.values()]).size);
  });
});
