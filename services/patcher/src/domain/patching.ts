import type { AntibodyEvent, PatchId, PatternId } from '@antibody/contracts';
import type { PatternState } from '@antibody/domain';
import type { CandidatePatch } from '@antibody/fix-kit';

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
}

/** What the patcher appends for one diagnosis. */
export type PatchEvent = Extract<AntibodyEvent, { type: 'PatchProposed' | 'PatchFailed' | 'LlmCallMetered' | 'IncidentEscalated' }>;

/** The proposal of a rule template candidate. */
export function fromTemplate(c: CandidatePatch): Proposal {
  return { source: 'template', templateId: c.templateId, files: [c.file], diff: c.diff, rationale: c.rationale, confidence: c.confidence };
}

/** The proposal of a learned pattern applied at a site. */
export function fromPattern(pattern: PatternState, file: string, diff: string): Proposal {
  return {
    source: 'pattern',
    patternId: pattern.patternId,
    files: [file],
    diff,
    rationale: `Learned pattern ${pattern.patternId} (${pattern.errorClass}), generalised from an earlier healed incident: success estimate ${pattern.estimate.toFixed(2)} over ${pattern.uses} uses.`,
    confidence: Math.min(0.99, Math.max(0, pattern.estimate)),
  };
}

/**
 * Ranks proposals (learned patterns first, then by confidence, then by diff text so equal
 * inputs give equal output), drops duplicate diffs, keeps at most `max`, and turns them into
 * PatchProposed events with the given ids.
 */
export function rankProposals(proposals: readonly Proposal[], patchId: (index: number) => PatchId, extra: { baseCommit?: string; errorClass?: string }, max = 5): PatchEvent[] {
  const order = { pattern: 0, template: 1, llm: 2 } as const;
  const seen = new Set<string>();
  const unique = [...proposals]
    .sort((a, b) => order[a.source] - order[b.source] || b.confidence - a.confidence || a.diff.localeCompare(b.diff))
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
    },
  }));
}
