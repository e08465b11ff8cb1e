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

const tierUrl = url.optional();
const tierText = z.string().min(1).optional();

/**
 * Environment settings of the diagnosis/patching LLM tiers, to `.extend()` a service's config
 * schema with. Per tier (`SMALL`, `LARGE`, `STRONGEST`): `ANTIBODY_LLM_<TIER>_BASE_URL`,
 * `_API_KEY`, `_MODEL` — all three or none. `ANTIBODY_LLM_PRICES`: JSON price table (USD per
 * million tokens) that must price every configured model. `ANTIBODY_LLM_MAX_OUTPUT_TOKENS`
 * (default 1200). `ANTIBODY_GIT_CACHE`: where remote repositories are mirrored.
 */
export const llmConfigShape = {
  ANTIBODY_LLM_SMALL_BASE_URL: tierUrl,
  ANTIBODY_LLM_SMALL_API_KEY: tierText,
  ANTIBODY_LLM_SMALL_MODEL: tierText,
  ANTIBODY_LLM_LARGE_BASE_URL: tierUrl,
  ANTIBODY_LLM_LARGE_API_KEY: tierText,
  ANTIBODY_LLM_LARGE_MODEL: tierText,
  ANTIBODY_LLM_STRONGEST_BASE_URL: tierUrl,
  ANTIBODY_LLM_STRONGEST_API_KEY: tierText,
  ANTIBODY_LLM_STRONGEST_MODEL: tierText,
  ANTIBODY_LLM_PRICES: prices.optional(),
  ANTIBODY_LLM_MAX_OUTPUT_TOKENS: z
    .string()
    .regex(/^\d+$/, 'must be a positive integer')
    .transform(Number)
    .pipe(z.number().int().positive().max(32_000))
    .optional(),
  ANTIBODY_GIT_CACHE: z.string().min(1).optional(),
};

/** The validated LLM-related settings. */
export type LlmConfig = z.infer<z.ZodObject<typeof llmConfigShape>>;

/** The three settings of each tier, by tier. */
const TIER_KEYS = {
  small: { baseUrl: 'ANTIBODY_LLM_SMALL_BASE_URL', apiKey: 'ANTIBODY_LLM_SMALL_API_KEY', model: 'ANTIBODY_LLM_SMALL_MODEL' },
  large: { baseUrl: 'ANTIBODY_LLM_LARGE_BASE_URL', apiKey: 'ANTIBODY_LLM_LARGE_API_KEY', model: 'ANTIBODY_LLM_LARGE_MODEL' },
  strongest: { baseUrl: 'ANTIBODY_LLM_STRONGEST_BASE_URL', apiKey: 'ANTIBODY_LLM_STRONGEST_API_KEY', model: 'ANTIBODY_LLM_STRONGEST_MODEL' },
} as const satisfies Record<TierName, Record<keyof TierConfig, keyof LlmConfig>>;

/**
 * Cross-field checks for {@link llmConfigShape}: a tier is all-or-nothing, and every configured
 * model has a price. Use as `.superRefine(checkLlmConfig)`.
 */
export function checkLlmConfig(config: LlmConfig, ctx: z.RefinementCtx): void {
  const table = config.ANTIBODY_LLM_PRICES ?? {};
  for (const t of TIERS) {
    const keys = TIER_KEYS[t];
    const set = [keys.baseUrl, keys.apiKey, keys.model].filter((k) => config[k] !== undefined).length;
    if (set > 0 && set < 3) ctx.addIssue({ code: 'custom', path: [keys.model], message: `${keys.baseUrl}, ${keys.apiKey} and ${keys.model} must be set together` });
    const model = config[keys.model];
    if (set === 3 && model !== undefined && !table[model]) {
      ctx.addIssue({ code: 'custom', path: ['ANTIBODY_LLM_PRICES'], message: `must price model ${model} (tier ${t})` });
    }
  }
}

/** Builds {@link LlmSettings} from validated config; tiers left unset are absent (the LLM path is off when none is set). */
export function llmSettingsFrom(config: LlmConfig): LlmSettings {
  const tiers: Partial<Record<TierName, TierConfig>> = {};
  for (const t of TIERS) {
    const keys = TIER_KEYS[t];
    const baseUrl = config[keys.baseUrl];
    const apiKey = config[keys.apiKey];
    const model = config[keys.model];
    if (baseUrl !== undefined && apiKey !== undefined && model !== undefined) tiers[t] = { baseUrl, apiKey, model };
  }
  const prices: PriceTable = config.ANTIBODY_LLM_PRICES ?? {};
  return { tiers, prices, maxOutputTokens: config.ANTIBODY_LLM_MAX_OUTPUT_TOKENS ?? 1200 };
}
