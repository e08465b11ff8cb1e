import { baseServiceConfigSchema } from '@antibody/platform';
import { checkLlmConfig, llmConfigShape } from '@antibody/fix-kit';
import type { z } from 'zod';

export const patcherConfigSchema = baseServiceConfigSchema.extend(llmConfigShape).superRefine(checkLlmConfig);

/** antibody-patcher's settings: the platform's plus the LLM tiers and the git cache (see docs/diagnosis-and-patching.md). */
export type PatcherConfig = z.infer<typeof patcherConfigSchema>;
