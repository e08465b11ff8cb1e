// The platform's config module alone: the main entry would load Nest before telemetry starts.
import { baseServiceConfigSchema } from '@antibody/platform/dist/config';
import { z } from 'zod';
import { DEFAULT_JUDGE_CONFIG } from '@antibody/domain';

const list = z
  .string()
  .default('')
  .transform((v) => v.split(',').map((s) => s.trim()).filter(Boolean));

/** Deployer settings (env): stages, dwell, exposure, alpha, observation period, notification targets. */
export const deployerConfigSchema = baseServiceConfigSchema.extend({
  DEPLOYER_STAGES: z
    .string()
    .default(DEFAULT_JUDGE_CONFIG.stages.join(','))
    .transform((v) => v.split(',').map(Number)),
  DEPLOYER_MIN_DWELL_MS: z.coerce.number().int().nonnegative().default(DEFAULT_JUDGE_CONFIG.minDwellMs),
  DEPLOYER_MIN_CANARY_REQUESTS: z.coerce.number().int().positive().default(DEFAULT_JUDGE_CONFIG.minCanaryRequests),
  DEPLOYER_STAGE_DEADLINE_MS: z.coerce.number().int().positive().default(DEFAULT_JUDGE_CONFIG.stageDeadlineMs),
  DEPLOYER_ALPHA: z.coerce.number().gt(0).lt(1).default(DEFAULT_JUDGE_CONFIG.alpha),
  /** A stage advances only once the canary's error rate is shown within this of stable's (a fraction). */
  DEPLOYER_ERROR_RATE_MARGIN: z.coerce.number().gt(0).lt(1).default(DEFAULT_JUDGE_CONFIG.errorRateMargin),
  DEPLOYER_SLOW_SHARE_MARGIN: z.coerce.number().gt(0).lt(1).default(DEFAULT_JUDGE_CONFIG.slowShareMargin),
  DEPLOYER_PROMOTION_ALPHA: z.coerce.number().gt(0).lt(1).default(DEFAULT_JUDGE_CONFIG.promotionAlpha),
  DEPLOYER_OBSERVE_EVERY_MS: z.coerce.number().int().positive().default(10_000),
  DEPLOYER_RESUME_SCAN_MS: z.coerce.number().int().positive().default(30_000),
  DEPLOYER_SLACK_WEBHOOK_URLS: list,
  DEPLOYER_NOTIFY_WEBHOOK_URLS: list,
  DEPLOYER_NOTIFY_MAX_PER_HOUR: z.coerce.number().int().positive().default(10),
  /** Standard Webhooks secret (`whsec_<base64>`) signing the generic notice webhooks. */
  DEPLOYER_NOTIFY_WEBHOOK_SECRET: z.string().regex(/^whsec_[A-Za-z0-9+/=]+$/, 'expected whsec_<base64>').optional(),
  /** Attempts per notice delivery before it is recorded as NoticeFailed; backoff doubles from the base. */
  DEPLOYER_NOTIFY_MAX_ATTEMPTS: z.coerce.number().int().positive().default(6),
  DEPLOYER_NOTIFY_RETRY_BASE_MS: z.coerce.number().int().positive().default(2000),
  /** Base URL of the console: every notice links to `<url>/incidents/<id>`. */
  DEPLOYER_CONSOLE_URL: z.url({ protocol: /^https?$/ }).optional(),
  /** Where the webhook adapter reads per-release counts (ingest's GET /v1/releases/counts), unless a service sets its own. */
  DEPLOYER_INGEST_URL: z.url({ protocol: /^https?$/ }).optional(),
});
export type DeployerConfig = z.infer<typeof deployerConfigSchema>;
