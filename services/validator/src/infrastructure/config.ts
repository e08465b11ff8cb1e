import { tmpdir } from 'node:os';
import { join } from 'node:path';
// The platform's config module alone: the main entry would load Nest before telemetry starts.
import { baseServiceConfigSchema } from '@antibody/platform/bootstrap';
import { z } from 'zod';

const positiveInt = (name: string, fallback: number, max: number) =>
  z
    .string()
    .refine((v) => /^\d+$/.test(v.trim()) && Number(v) >= 1 && Number(v) <= max, { error: `must be an integer between 1 and ${max}` })
    .transform(Number)
    .default(fallback)
    .describe(name);

/**
 * The validator's settings (besides the platform's):
 *
 * - `VALIDATOR_WORK_DIR`: repository mirrors, worktrees and the dependency cache (default `<tmp>/antibody-validator`).
 * - `VALIDATOR_CONCURRENCY`: validations run at the same time by one instance (default 2).
 * - `VALIDATOR_TIMEOUT_SECONDS`: time limit of each build/test run (default 600).
 * - `VALIDATOR_INSTALL_TIMEOUT_SECONDS`: time limit of the install step (default 900).
 * - `VALIDATOR_MEMORY_MB`: address-space limit per sandboxed process (default 2048; below ~1024 Node itself cannot start).
 * - `VALIDATOR_MAX_PROCESSES`: processes per sandbox (default 256).
 * - `VALIDATOR_OUTPUT_CAP_MB`: output kept per run; beyond it the run is stopped (default 8).
 * - `VALIDATOR_FLAKY_RERUNS`: extra runs when a test newly fails (default 2; 0 disables flaky detection).
 * - `VALIDATOR_ACK_WAIT_SECONDS`: how long a delivery may run before NATS hands it to another
 *   instance (default 1800); a live holder keeps the work through a Postgres lock, so a shorter
 *   value only means a faster takeover after a crash.
 */
export const validatorConfigSchema = baseServiceConfigSchema.extend({
  VALIDATOR_WORK_DIR: z.string().default(join(tmpdir(), 'antibody-validator')),
  VALIDATOR_CONCURRENCY: positiveInt('VALIDATOR_CONCURRENCY', 2, 64),
  VALIDATOR_TIMEOUT_SECONDS: positiveInt('VALIDATOR_TIMEOUT_SECONDS', 600, 86_400),
  VALIDATOR_INSTALL_TIMEOUT_SECONDS: positiveInt('VALIDATOR_INSTALL_TIMEOUT_SECONDS', 900, 86_400),
  VALIDATOR_MEMORY_MB: positiveInt('VALIDATOR_MEMORY_MB', 2048, 1_048_576),
  VALIDATOR_MAX_PROCESSES: positiveInt('VALIDATOR_MAX_PROCESSES', 256, 1_000_000),
  VALIDATOR_OUTPUT_CAP_MB: positiveInt('VALIDATOR_OUTPUT_CAP_MB', 8, 1024),
  VALIDATOR_FLAKY_RERUNS: z
    .string()
    .refine((v) => /^\d+$/.test(v.trim()) && Number(v) <= 10, { error: 'must be an integer between 0 and 10' })
    .transform(Number)
    .default(2),
  VALIDATOR_ACK_WAIT_SECONDS: positiveInt('VALIDATOR_ACK_WAIT_SECONDS', 1800, 86_400),
});

/** The validated settings of antibody-validator. */
export type ValidatorConfig = z.infer<typeof validatorConfigSchema>;
