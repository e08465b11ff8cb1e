import { baseServiceConfigSchema } from '@antibody/platform';
import { checkLlmConfig, llmConfigShape } from '@antibody/fix-kit';
import { z } from 'zod';

/** Rounds of re-diagnosis after rollbacks when ANTIBODY_MAX_ROLLBACK_ROUNDS is not set. */
export const DEFAULT_MAX_ROLLBACK_ROUNDS = 3;

/**
 * antibody-analyzer's settings: the platform's, the LLM tiers and the git cache, and
 * `ANTIBODY_MAX_ROLLBACK_ROUNDS` — how many times an incident goes back to diagnosis after its
 * fix was rolled back before it is escalated to a person (default 3; 0 escalates at the first
 * rollback). See docs/diagnosis-and-patching.md.
 */
export type AnalyzerConfig = z.infer<typeof analyzerConfigSchema>;

export const analyzerConfigSchema = baseServiceConfigSchema
  .extend({
    ...llmConfigShape,
    ANTIBODY_MAX_ROLLBACK_ROUNDS: z
      .string()
      .regex(/^\d+$/, 'must be a whole number of rounds, e.g. 3 (0 escalates at the first rollback)')
      .transform(Number)
      .pipe(z.number().int().max(100))
      .default(DEFAULT_MAX_ROLLBACK_ROUNDS),
  })
  .superRefine(checkLlmConfig);
