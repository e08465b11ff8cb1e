/**
 * Naming what the sandbox stopped. The sandbox contains a patch whatever it does; these functions
 * only turn its traces into reasons a person can read. Pure.
 */
import { readDiff } from '@antibody/fix-kit';

const OUTPUT_SIGNS: ReadonlyArray<readonly [RegExp, (m: RegExpExecArray) => string]> = [
  [/\b(ENETUNREACH|ECONNREFUSED|EAI_AGAIN|ENOTFOUND)\b(?: ([^\s'"]+))?/, (m) => `network access was blocked by the sandbox (${m[1]}${m[2] ? ` ${m[2]}` : ''})`],
  [/\b(EROFS|EACCES|EPERM)\b[^\n]*?'(\/[^']+)'/, (m) => `a write outside the worktree was blocked by the sandbox (${m[1]} on ${m[2]})`],
  [/(?:cannot create|can't create) (\/[^:\s]+): (Read-only file system|Permission denied)/, (m) => `a write outside the worktree was blocked by the sandbox (${m[2]} on ${m[1]})`],
  [/\b(fork: (?:retry: )?Resource temporarily unavailable|spawn[^\n]*EAGAIN|Cannot fork)/i, () => 'the process limit was reached (fork bomb or runaway process creation)'],
  [/(JavaScript heap out of memory|Array buffer allocation failed|Cannot allocate memory|ENOMEM|std::bad_alloc)/, (m) => `the memory limit was reached (${m[1]})`],
];

/**
 * Reasons found in a run's output: blocked network access, blocked writes outside the worktree,
 * the process limit, the memory limit. Each reason appears once. A run's own test output can
 * contain these words legitimately, so callers compare with the baseline run (see `decideVerdict`).
 */
export function violationsInOutput(output: string): string[] {
  const found = new Set<string>();
  for (const [pattern, describe] of OUTPUT_SIGNS) {
    const match = pattern.exec(output);
    if (match) found.add(describe(match));
  }
  return [...found];
}

/** The reasons for a run the sandbox ended itself (time limit, output cap). */
export function violationsOfRun(run: { readonly timedOut: boolean; readonly timeLimitMs: number; readonly outputCapped: boolean; readonly signal: string | null }): string[] {
  const out: string[] = [];
  if (run.timedOut) out.push(`the run exceeded the time limit of ${Math.round(run.timeLimitMs / 1000)} s and its whole process group was killed`);
  if (run.outputCapped) out.push('the run exceeded the output cap and was stopped');
  return out;
}

const RISKY_ADDITIONS: ReadonlyArray<readonly [RegExp, string]> = [
  [/\bprocess\.env\b|\bprocess\[['"]env['"]\]|\bos\.environ\b|\bgetenv\s*\(/, 'reads environment variables'],
  [/\brequire\(\s*['"](?:node:)?child_process['"]\s*\)|from\s+['"](?:node:)?child_process['"]|\bexecSync\b|\bspawnSync\b/, 'starts processes (child_process)'],
  [/\brequire\(\s*['"](?:node:)?(?:net|dgram|tls)['"]\s*\)|from\s+['"](?:node:)?(?:net|dgram|tls)['"]|\bfetch\s*\(\s*['"`]https?:|\bhttps?\.request\s*\(/, 'opens network connections'],
];

/** One risky capability a patch adds, with where. */
export interface PatchRisk {
  readonly file: string;
  readonly line: string;
  readonly risk: string;
}

/**
 * Capabilities a patch adds that a bug fix rarely needs: reading the environment, starting
 * processes, opening network connections. Looks at added lines only (read with fix-kit's
 * `readDiff`; an unreadable diff has none, and is rejected at the policy step anyway). This is evidence for the
 * reason, not the containment: the sandbox blocks these whatever the scan finds.
 */
export function risksOfDiff(diff: string): PatchRisk[] {
  const read = readDiff(diff);
  if (read.kind === 'unreadable') return [];
  const risks: PatchRisk[] = [];
  for (const file of read.files) {
    const path = file.newPath ?? file.oldPath ?? '';
    for (const line of file.hunks.flatMap((h) => h.lines)) {
      if (!line.startsWith('+')) continue;
      for (const [pattern, risk] of RISKY_ADDITIONS) {
        if (pattern.test(line)) risks.push({ file: path, line: line.slice(1).trim().slice(0, 160), risk });
      }
    }
  }
  return risks;
}
