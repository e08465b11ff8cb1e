import { localise, type FrameFacts, type Localisation, type SourceReader } from './localise';
import { defaultRuleCatalog, matchRules, type Rule, type RuleMatch } from './rules';

/** An error sample to diagnose and a way to read the code it ran. */
export interface AnalyseInput {
  readonly errorType: string;
  readonly message: string;
  readonly frames: readonly FrameFacts[];
  readonly read: SourceReader;
  /** Every file path at the commit (spares reads when frames in build output are traced to their sources). */
  readonly listFiles?: () => Promise<readonly string[]>;
  readonly rules?: readonly Rule[];
}

/** The best rule (if any), every rule that matched, and where the fix belongs. */
export interface Analysis {
  readonly match: RuleMatch | undefined;
  readonly matches: readonly RuleMatch[];
  readonly localisation: Localisation;
}

/**
 * Matches the rule catalog against an error and localises the fault. Rules are matched twice:
 * once on the error text (to know what bad value to look for), then again with the crash line
 * at the commit and the localiser's evidence (a rule such as `missing-await` only matches on
 * evidence from the code). Deterministic for the same input and code.
 */
export async function analyseError(input: AnalyseInput): Promise<Analysis> {
  const rules = input.rules ?? defaultRuleCatalog();
  const first = matchRules(rules, { type: input.errorType, message: input.message })[0];
  const run = (match: RuleMatch | undefined): Promise<Localisation> =>
    localise({ frames: input.frames, errorType: input.errorType, message: input.message, errorClass: match?.rule.errorClass, captures: match?.captures, read: input.read, listFiles: input.listFiles });
  let localisation = await run(first);
  const matches = matchRules(rules, { type: input.errorType, message: input.message, contextLine: localisation.contextLine, evidence: localisation.evidence });
  const best = matches[0];
  if (best && best.rule.errorClass !== first?.rule.errorClass) localisation = await run(best);
  return { match: best, matches, localisation };
}
