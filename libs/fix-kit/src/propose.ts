import { unifiedDiff } from './diff';
import { pathRefusal, type PathPolicy } from './policy';
import type { Strategy } from './rules';
import { applyTemplate } from './templates';
import type { TypeProject } from './typecheck';

/** A place a fix may go: a file at the analysed commit, a line, and the bad value there. */
export interface FixSite {
  readonly file: string;
  readonly source: string;
  readonly line: number;
  readonly function?: string;
  readonly suspect?: string;
  /** Preference for this site, 0..1 (1 for where the localiser says the fix belongs). */
  readonly weight: number;
}

/** What the templates are asked to fix. */
export interface TemplateRequest {
  readonly ruleId: string;
  readonly errorClass: string;
  readonly strategies: readonly Strategy[];
  readonly ruleConfidence: number;
  readonly errorType: string;
  readonly message: string;
  readonly captures: Readonly<Record<string, string>>;
  readonly sites: readonly FixSite[];
  readonly policy: PathPolicy;
  /** At most this many candidates (default 5). */
  readonly max?: number;
  /** The repository's files at the commit under the type checker, so fallbacks fit the checked return types. */
  readonly types?: TypeProject;
}

/** One ranked candidate patch. */
export interface CandidatePatch {
  readonly templateId: Strategy;
  readonly file: string;
  readonly line: number;
  readonly before: string;
  readonly after: string;
  readonly diff: string;
  readonly rationale: string;
  readonly confidence: number;
}

/** The outcome of {@link proposeTemplateFixes}. */
export interface TemplateProposal {
  readonly candidates: readonly CandidatePatch[];
  /** Candidates dropped because the policy forbids their file. */
  readonly refused: readonly { readonly file: string; readonly reason: string }[];
}

/**
 * Runs the rule's templates at every site and ranks what they produce: confidence = rule
 * confidence x template prior x site weight x a small penalty for templates listed later by the
 * rule. Identical rewrites are kept once; files the policy refuses are never proposed. Pure and
 * deterministic (same input, same candidates in the same order).
 */
export function proposeTemplateFixes(request: TemplateRequest): TemplateProposal {
  const refused: { file: string; reason: string }[] = [];
  const found: CandidatePatch[] = [];
  const seen = new Set<string>();
  for (const site of request.sites) {
    const reason = pathRefusal(site.file, request.policy);
    if (reason) {
      if (!refused.some((r) => r.file === site.file)) refused.push({ file: site.file, reason });
      continue;
    }
    const types = request.types?.oracle(site.file);
    request.strategies.forEach((strategy, index) => {
      const results = applyTemplate(strategy, {
        file: site.file,
        source: site.source,
        line: site.line,
        errorClass: request.errorClass,
        errorType: request.errorType,
        message: request.message,
        captures: request.captures,
        suspect: site.suspect,
        ...(types ? { types } : {}),
      });
      for (const r of results) {
        const key = `${site.file}\u0000${r.after}`;
        if (seen.has(key)) continue;
        seen.add(key);
        const confidence = round(request.ruleConfidence * r.prior * site.weight * (1 - 0.04 * index));
        found.push({ templateId: strategy, file: site.file, line: site.line, before: site.source, after: r.after, diff: unifiedDiff(site.file, site.source, r.after), rationale: r.rationale, confidence });
      }
    });
  }
  const order = (s: Strategy): number => request.strategies.indexOf(s);
  found.sort((a, b) => b.confidence - a.confidence || order(a.templateId) - order(b.templateId) || a.file.localeCompare(b.file) || a.diff.localeCompare(b.diff));
  return { candidates: found.slice(0, request.max ?? 5), refused };
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
