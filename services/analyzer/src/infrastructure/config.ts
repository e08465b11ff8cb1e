import { baseServiceConfigSchema, type BaseServiceConfig } from '@antibody/platform';
import { checkLlmConfig, llmConfigShape } from '@antibody/fix-kit';
import type { z } from 'zod';

/** antibody-analyzer's settings: the platform's plus the LLM tiers and the git cache (see docs/diagnosis-and-patching.md). */
export type AnalyzerConfig = BaseServiceConfig & Record<string, unknown>;

export const analyzerConfigSchema = baseServiceConfigSchema
  .extend(llmConfigShape)
  .superRefine((config, ctx) => checkLlmConfig(config as Record<string, unknown>, ctx)) as unknown as z.ZodType<AnalyzerConfig>;
