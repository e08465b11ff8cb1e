import type { PatchId } from '@antibody/contracts';
import type { FailedFix, RejectedFix } from '@antibody/domain';
import { unifiedDiff } from '@antibody/fix-kit';
import { changeKey, changesToAvoid, describeFailed, idsAvoiding, repeatedFix, withoutFailed } from './exclusion';
import type { Proposal } from './patching';

const BEFORE = 'const a = 1;\nconst b = 2;\nconst c = 3;\nconst d = 4;\n\nfunction total(xs) {\n  const first = xs[0];\n  return xs.reduce((a, b) => a + b);\n}\n';
const GUARD = BEFORE.replace('  const first', '  if (!Array.isArray(xs)) return 0;\n  const first');
const INITIAL = BEFORE.replace('a + b);', 'a + b, 0);');

const proposal = (diff: string, templateId = 'guard-clause'): Proposal => ({ source: 'template', templateId, files: ['src/total.js'], diff, rationale: 'r', confidence: 0.8 });
const failed = (patchId: string, diff: string | undefined, outcome = 'rolled back at 5% (latency-regression): canary slower'): FailedFix => ({ patchId: patchId as PatchId, ...(diff !== undefined ? { diff } : {}), outcome });
const rejected = (patchId: string, diff: string, baseCommit: string | undefined): RejectedFix => ({ patchId: patchId as PatchId, diff, ...(baseCommit ? { baseCommit } : {}), outcome: 'rejected by the validator at tests: 1 test fails' });
const COMMIT = 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678';

describe('recognising a fix that already failed in production', () => {
  it('given the same edit against a commit where its lines moved down, then it is the same change', () => {
    const moved = `// a new header line\n// and another\n${BEFORE}`;
    const a = unifiedDiff('src/total.js', BEFORE, GUARD);
    const b = unifiedDiff('src/total.js', moved, moved.replace('  const first', '  if (!Array.isArray(xs)) return 0;\n  const first'));
    expect(a).not.toBe(b);
    expect(changeKey(a)).toBe(changeKey(b));
  });

  it('given the same edit with other indentation or line endings, then it is the same change; a different edit or file is not', () => {
    const a = unifiedDiff('src/total.js', BEFORE, GUARD);
    expect(changeKey(a.replace(/\n/g, '\r\n').replace('+  if', '+    if'))).toBe(changeKey(a));
    expect(changeKey(unifiedDiff('src/total.js', BEFORE, INITIAL))).not.toBe(changeKey(a));
    expect(changeKey(unifiedDiff('src/other.js', BEFORE, GUARD))).not.toBe(changeKey(a));
  });

  it('given the same edit written by git (diff --git header, index line), then it is the same change; a diff that cannot be read has a key of its own', () => {
    const a = unifiedDiff('src/total.js', BEFORE, GUARD);
    const git = `diff --git a/src/total.js b/src/total.js\nindex 1234567..89abcde 100644\n${a}`;
    expect(changeKey(git)).toBe(changeKey(a));
    expect(changeKey('--- a/x\n+++ b/x\n@@ -1,3 +1,3 @@\n-a\nstray\n+b\n')).toMatch(/^unreadable /);
  });

  it('given candidates and a rolled-back patch, then the candidate repeating it is dropped and the next-ranked ones are kept in order', () => {
    const guard = proposal(unifiedDiff('src/total.js', BEFORE, GUARD));
    const initial = proposal(unifiedDiff('src/total.js', BEFORE, INITIAL), 'input-validation');
    const bad = failed('1a2b3c4d-0000-4000-8000-000000000001', guard.diff);
    expect(withoutFailed([guard, initial], [bad])).toEqual({ kept: [initial], repeats: [{ proposal: guard, failed: bad }] });
    expect(repeatedFix(initial.diff, [bad])).toBeUndefined();
    expect(repeatedFix(guard.diff, [bad])).toBe(bad);
  });

  it('given a failed patch whose proposal is not in the stream, then nothing is dropped by diff', () => {
    const guard = proposal(unifiedDiff('src/total.js', BEFORE, GUARD));
    expect(withoutFailed([guard], [failed('ghost', undefined)]).kept).toEqual([guard]);
  });

  it('given excluded ids, then new ids skip them, deterministically', () => {
    const base = (k: number) => `id-${k}`;
    const ids = idsAvoiding(base, new Set(['id-0', 'id-2']));
    expect([0, 1, 2].map(ids)).toEqual(['id-1', 'id-3', 'id-4']);
    expect([2, 0].map(idsAvoiding(base, new Set(['id-0', 'id-2'])))).toEqual(['id-4', 'id-1']);
  });

  it('names each failed patch and why, in a few words', () => {
    expect(describeFailed([failed('1a2b3c4d-0000-4000-8000-000000000001', 'd'), failed('5e6f7a8b-0000-4000-8000-000000000002', 'd', 'rolled back at 25% (error-regression): more 500s\nsecond line')])).toBe(
      'patch 1a2b3c4d (rolled back at 5% (latency-regression): canary slower), patch 5e6f7a8b (rolled back at 25% (error-regression): more 500s)',
    );
  });

  it('given a candidate the validator rejected for the same commit and one rolled back, then neither is proposed again and the next-ranked candidate is kept', () => {
    const guard = proposal(unifiedDiff('src/total.js', BEFORE, GUARD));
    const initial = proposal(unifiedDiff('src/total.js', BEFORE, INITIAL), 'input-validation');
    const third = proposal(unifiedDiff('src/total.js', BEFORE, BEFORE.replace('const d = 4;', 'const d = 4 ?? 0;')), 'nullish-default');
    const rolledBack = failed('1a2b3c4d-0000-4000-8000-000000000001', initial.diff);
    const rejectedGuard = rejected('5e6f7a8b-0000-4000-8000-000000000002', guard.diff, COMMIT);
    const avoided = changesToAvoid([rolledBack], [rejectedGuard], COMMIT);
    expect(avoided).toEqual([rolledBack, rejectedGuard]);
    expect(withoutFailed([guard, initial, third], avoided)).toEqual({
      kept: [third],
      repeats: [
        { proposal: guard, failed: rejectedGuard },
        { proposal: initial, failed: rolledBack },
      ],
    });
  });

  it('given a rejection against another commit (or one that names none), then its change may be proposed again; rolled-back changes stay excluded whatever the commit', () => {
    const guard = proposal(unifiedDiff('src/total.js', BEFORE, GUARD));
    const elsewhere = rejected('5e6f7a8b-0000-4000-8000-000000000002', guard.diff, 'ffffffffffffffffffffffffffffffffffffffff');
    const unknown = rejected('9c0d1e2f-0000-4000-8000-000000000003', guard.diff, undefined);
    expect(changesToAvoid([], [elsewhere, unknown], COMMIT)).toEqual([]);
    expect(withoutFailed([guard], changesToAvoid([], [elsewhere, unknown], COMMIT)).kept).toEqual([guard]);
    const rolledBack = failed('1a2b3c4d-0000-4000-8000-000000000001', guard.diff);
    expect(changesToAvoid([rolledBack], [elsewhere], COMMIT)).toEqual([rolledBack]);
  });

  it('given the same change both rolled back and rejected, then a repeat names the rolled-back patch', () => {
    const guard = proposal(unifiedDiff('src/total.js', BEFORE, GUARD));
    const rolledBack = failed('1a2b3c4d-0000-4000-8000-000000000001', guard.diff);
    const avoided = changesToAvoid([rolledBack], [rejected('5e6f7a8b-0000-4000-8000-000000000002', guard.diff, COMMIT)], COMMIT);
    expect(withoutFailed([guard], avoided).repeats).toEqual([{ proposal: guard, failed: rolledBack }]);
  });
});
