import type { AntibodyEvent, PatchId, PatternId } from '@antibody/contracts';
import type { PatternState } from '@antibody/domain';
import { describeDiagnostics, isPatchableFile, type CandidatePatch, type CheckDiagnostic, type FileChange, type TypeProject } from '@antibody/fix-kit';

/** One proposal before ids and ranks are assigned. */
export interface Proposal {
  readonly source: 'template' | 'pattern' | 'llm';
  readonly templateId?: string;
  readonly patternId?: PatternId;
  readonly model?: string;
  readonly files: readonly string[];
  readonly diff: string;
  readonly rationale: string;
  readonly confidence: number;
  readonly costUsd?: number;
  /** The new text of each file it changes (for the type check; not carried on the event). */
  readonly changes?: readonly FileChange[];
}

/** A candidate dropped before proposal, with the diagnostics it added (PatchProposed/PatchFailed `dropped`). */
export interface Dropped {
  readonly source: Proposal['source'];
  readonly templateId?: string;
  readonly patternId?: PatternId;
  readonly files: string[];
  readonly diagnostics: CheckDiagnostic[];
}

/** What the patcher appends for one diagnosis. */
export type PatchEvent = Extract<AntibodyEvent, { type: 'PatchProposed' | 'PatchFailed' | 'LlmCallMetered' | 'IncidentEscalated' }>;

/** The proposal of a rule template candidate. */
export function fromTemplate(c: CandidatePatch): Proposal {
  return { source: 'template', templateId: c.templateId, files: [c.file], diff: c.diff, rationale: c.rationale, confidence: c.confidence, changes: [{ file: c.file, after: c.after }] };
}

/** The proposal of a learned pattern applied at a site. */
export function fromPattern(pattern: PatternState, file: string, diff: string, after: string): Proposal {
  return {
    changes: [{ file, after }],
    source: 'pattern',
    patternId: pattern.patternId,
    files: [file],
    diff,
    rationale: `Learned pattern ${pattern.patternId} (${pattern.errorClass}), generalised from an earlier healed incident: success estimate ${pattern.estimate.toFixed(2)} over ${pattern.uses} uses.`,
    confidence: Math.min(0.99, Math.max(0, pattern.estimate)),
  };
}

/** The order proposals are ranked in: learned patterns first, then by confidence, then by diff text (equal inputs, equal output). */
export function byRank(a: Proposal, b: Proposal): number {
  const order = { pattern: 0, template: 1, llm: 2 } as const;
  return order[a.source] - order[b.source] || b.confidence - a.confidence || a.diff.localeCompare(b.diff);
}

/**
 * The diagnostics a proposal adds to the TypeScript and JavaScript files it changes, compared with
 * those files at the commit (none when no project was read).
 */
export function addedDiagnostics(proposal: Proposal, types: TypeProject | undefined): CheckDiagnostic[] {
  const changes = (proposal.changes ?? []).filter((c) => isPatchableFile(c.file));
  return types && changes.length > 0 ? types.check(changes) : [];
}

/**
 * Type-checks proposals in rank order until `max` pass: those that add diagnostics are dropped
 * (with the first five), so the next-ranked ones take their places. Proposals past the `max`
 * kept are not checked (they are not proposed either).
 */
export function keepCompiling(proposals: readonly Proposal[], types: TypeProject | undefined, max: number): { kept: Proposal[]; dropped: Dropped[] } {
  const kept: Proposal[] = [];
  const dropped: Dropped[] = [];
  const seen = new Set<string>();
  for (const p of [...proposals].sort(byRank)) {
    if (kept.length >= max) break;
    if (seen.has(p.diff)) continue;
    seen.add(p.diff);
    const diagnostics = addedDiagnostics(p, types);
    if (diagnostics.length === 0) kept.push(p);
    else dropped.push(droppedOf(p, diagnostics));
  }
  return { kept, dropped };
}

export function droppedOf(p: Proposal, diagnostics: readonly CheckDiagnostic[]): Dropped {
  return { source: p.source, ...(p.templateId ? { templateId: p.templateId } : {}), ...(p.patternId ? { patternId: p.patternId } : {}), files: [...p.files], diagnostics: diagnostics.slice(0, 5).map((d) => ({ ...d })) };
}

/** `guard-clause candidate: src/a.ts:3 TS2322 …` for each dropped candidate. */
export function describeDropped(dropped: readonly Dropped[]): string {
  return dropped.map((d) => `${d.templateId ?? d.patternId ?? d.source} candidate: ${describeDiagnostics(d.diagnostics, 2)}`).join('; ');
}

/**
 * Ranks proposals (learned patterns first, then by confidence, then by diff text so equal
 * inputs give equal output), drops duplicate diffs, keeps at most `max`, and turns them into
 * PatchProposed events with the given ids.
 */
export function rankProposals(proposals: readonly Proposal[], patchId: (index: number) => PatchId, extra: { baseCommit?: string; errorClass?: string; dropped?: readonly Dropped[] }, max = 5): PatchEvent[] {
  const seen = new Set<string>();
  const unique = [...proposals]
    .sort(byRank)
    .filter((p) => (seen.has(p.diff) ? false : (seen.add(p.diff), true)))
    .slice(0, max);
  return unique.map((p, i) => ({
    type: 'PatchProposed',
    data: {
      patchId: patchId(i),
      diff: p.diff,
      files: [...p.files],
      rationale: p.rationale,
      source: p.source,
      ...(p.templateId ? { templateId: p.templateId } : {}),
      ...(p.patternId ? { patternId: p.patternId } : {}),
      ...(p.model ? { model: p.model } : {}),
      rank: i + 1,
      confidence: p.confidence,
      ...(p.costUsd !== undefined ? { costUsd: p.costUsd } : {}),
      ...(extra.baseCommit ? { baseCommit: extra.baseCommit } : {}),
      ...(extra.errorClass ? { errorClass: extra.errorClass } : {}),
      ...(i === 0 && extra.dropped && extra.dropped.length > 0 ? { dropped: extra.dropped.map((d) => ({ ...d })) } : {}),
    },
  }));
}
