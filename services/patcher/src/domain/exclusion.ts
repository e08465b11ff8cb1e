import type { FailedFix, RejectedFix } from '@antibody/domain';
import { readDiff } from '@antibody/fix-kit';
import type { Proposal } from './patching';

/**
 * The change a unified diff makes, independent of how it was written down: the files, and in
 * each hunk its context, removed and added lines with runs of whitespace collapsed. Hunk line
 * numbers, file banners and "no newline" markers are dropped, so the same edit proposed again
 * (under a new id, or against a commit where the lines moved) has the same key. The diff is read
 * with fix-kit's `readDiff` (parsePatch); one it cannot read is keyed by its whitespace-collapsed text.
 */
export function changeKey(diff: string): string {
  const text = diff.replace(/\r\n?/g, '\n');
  const read = readDiff(text);
  if (read.kind === 'unreadable') return `unreadable ${text.replace(/\s+/g, ' ').trim()}`;
  const out: string[] = [];
  for (const file of read.files) {
    out.push(`file ${file.newPath ?? file.oldPath}`);
    for (const hunk of file.hunks) {
      out.push('@@');
      for (const line of hunk.lines) {
        const kind = line[0];
        if (kind !== ' ' && kind !== '+' && kind !== '-') continue;
        const content = line.slice(1).replace(/\s+/g, ' ').trim();
        if (kind === ' ' && content === '') continue;
        out.push(`${kind}${content}`);
      }
    }
  }
  return out.join('\n');
}

/**
 * The fixes whose change a diagnosis of the code at `commit` does not get again: every fix that
 * was rolled back (it failed in production, whatever commit it was made against), then every fix
 * the validator rejected that was made against that same commit (validating the same change of
 * the same code again would only reject it again). Each patch once.
 */
export function changesToAvoid(rolledBack: readonly FailedFix[], rejected: readonly RejectedFix[], commit: string): FailedFix[] {
  const ids = new Set(rolledBack.map((f) => f.patchId));
  return [...rolledBack, ...rejected.filter((r) => r.baseCommit === commit && !ids.has(r.patchId))];
}

/** A proposal dropped because it repeats a fix that failed (in production, or at validation). */
export interface Repeat {
  readonly proposal: Proposal;
  readonly failed: FailedFix;
}

/**
 * Splits proposals into those that are new and those whose change is one of `failed` (compared
 * by {@link changeKey}); a repeat names the first of `failed` with its change.
 */
export function withoutFailed(proposals: readonly Proposal[], failed: readonly FailedFix[]): { kept: Proposal[]; repeats: Repeat[] } {
  const byKey = new Map<string, FailedFix>();
  for (const f of failed) {
    if (f.diff === undefined) continue;
    const key = changeKey(f.diff);
    if (!byKey.has(key)) byKey.set(key, f);
  }
  const kept: Proposal[] = [];
  const repeats: Repeat[] = [];
  for (const proposal of proposals) {
    const match = byKey.get(changeKey(proposal.diff));
    if (match) repeats.push({ proposal, failed: match });
    else kept.push(proposal);
  }
  return { kept, repeats };
}

/** The failed fix `diff` repeats, if any. */
export function repeatedFix(diff: string, failed: readonly FailedFix[]): FailedFix | undefined {
  const key = changeKey(diff);
  return failed.find((f) => f.diff !== undefined && changeKey(f.diff) === key);
}

/**
 * Patch ids for the i-th proposal that are never one of `excluded`: the i-th id of `base` (0, 1, …)
 * not in the set. Deterministic, so a redelivered diagnosis gets the same ids.
 */
export function idsAvoiding(base: (k: number) => string, excluded: ReadonlySet<string>): (i: number) => string {
  const ids: string[] = [];
  let k = 0;
  return (i) => {
    while (ids.length <= i) {
      const id = base(k++);
      if (!excluded.has(id)) ids.push(id);
    }
    return ids[i]!;
  };
}

/** The failed fixes in a few words each, for reasons: `patch 1a2b3c4d (rolled back at 5% (latency-regression): …)`. */
export function describeFailed(failed: readonly FailedFix[]): string {
  return failed
    .map((f) => {
      const outcome = f.outcome.split('\n')[0] ?? '';
      return `patch ${f.patchId.slice(0, 8)} (${outcome.length > 160 ? `${outcome.slice(0, 159)}…` : outcome})`;
    })
    .join(', ');
}
