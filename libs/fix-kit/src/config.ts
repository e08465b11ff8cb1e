import { z } from 'zod';
import { TIERS, type LlmSettings, type PriceTable, type TierConfig, type TierName } from './llm';

const url = z.string().refine((v) => {
  try {
    return ['http:', 'https:'].includes(new URL(v).protocol);
  } catch {
    return false;
  }
}, 'must be an http(s) URL, e.g. https://api.openai.com/v1');

const prices = z
  .string()
  .transform((raw, ctx) => {
    try {
      return JSON.parse(raw) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be JSON, e.g. {"gpt-4o-mini":{"inputPerMTok":0.15,"outputPerMTok":0.6}}' });
      return z.NEVER;
    }
  })
  .pipe(z.record(z.string(), z.object({ inputPerMTok: z.number().nonnegative(), outputPerMTok: z.number().nonnegative() })));

/**
 * Environment settings of the diagnosis/patching LLM tiers, to `.extend()` a service's config
 * schema with. Per tier (`SMALL`, `LARGE`, `STRONGEST`): `ANTIBODY_LLM_<TIER>_BASE_URL`,
 * `_API_KEY`, `_MODEL` — all three or none. `ANTIBODY_LLM_PRICES`: JSON price table (USD per
 * million tokens) that must price every configured model. `ANTIBODY_LLM_MAX_OUTPUT_TOKENS`
 * (default 1200). `ANTIBODY_GIT_CACHE`: where remote repositories are mirrored.
 */
export const llmConfigShape = {
  ...Object.fromEntries(
    TIERS.flatMap((t) => {
      const p = `ANTIBODY_LLM_${t.toUpperCase()}`;
      return [
        [`${p}_BASE_URL`, url.optional()],
        [`${p}_API_KEY`, z.string().min(1).optional()],
        [`${p}_MODEL`, z.string().min(1).optional()],
      ];
    }),
  ),
  ANTIBODY_LLM_PRICES: prices.optional(),
  ANTIBODY_LLM_MAX_OUTPUT_TOKENS: z
    .string()
    .regex(/^\d+$/, 'must be a positive integer')
    .transform(Number)
    .pipe(z.number().int().positive().max(32_000))
    .optional(),
  ANTIBODY_GIT_CACHE: z.string().min(1).optional(),
} as Record<string, z.ZodType>;

/** The validated LLM-related settings. */
export type LlmConfig = Record<string, unknown>;

/**
 * Cross-field checks for {@link llmConfigShape}: a tier is all-or-nothing, and every configured
 * model has a price. Use as `.superRefine(checkLlmConfig)`.
 */
export function checkLlmConfig(config: LlmConfig, ctx: z.RefinementCtx): void {
  const table = (config['ANTIBODY_LLM_PRICES'] ?? {}) as PriceTable;
  for (const t of TIERS) {
    const p = `ANTIBODY_LLM_${t.toUpperCase()}`;
    const parts = ['BASE_URL', 'API_KEY', 'MODEL'].map((k) => config[`${p}_${k}`]);
    const set = parts.filter((v) => v !== undefined).length;
    if (set > 0 && set < 3) ctx.addIssue({ code: 'custom', path: [`${p}_MODEL`], message: `${p}_BASE_URL, ${p}_API_KEY and ${p}_MODEL must be set together` });
    const model = config[`${p}_MODEL`];
    if (set === 3 && typeof model === 'string' && !table[model]) {
      ctx.addIssue({ code: 'custom', path: ['ANTIBODY_LLM_PRICES'], message: `must price model ${model} (tier ${t})` });
    }
  }
}

/** Builds {@link LlmSettings} from validated config; tiers left unset are absent (the LLM path is off when none is set). */
export function llmSettingsFrom(config: LlmConfig): LlmSettings {
  const tiers: Partial<Record<TierName, TierConfig>> = {};
  for (const t of TIERS) {
    const p = `ANTIBODY_LLM_${t.toUpperCase()}`;
    const baseUrl = config[`${p}_BASE_URL`];
    const apiKey = config[`${p}_API_KEY`];
    const model = config[`${p}_MODEL`];
    if (typeof baseUrl === 'string' && typeof apiKey === 'string' && typeof model === 'string') tiers[t] = { baseUrl, apiKey, model };
  }
  const maxOutputTokens = config['ANTIBODY_LLM_MAX_OUTPUT_TOKENS'];
  return { tiers, prices: (config['ANTIBODY_LLM_PRICES'] ?? {}) as PriceTable, maxOutputTokens: typeof maxOutputTokens === 'number' ? maxOutputTokens : 1200 };
}
