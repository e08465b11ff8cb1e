import { z } from 'zod';
import { ingestKeyIdSchema, serviceNameSchema } from '../ids';
import { jsonValue, sha256Hex, text, usd } from '../primitives';

/** What a service's policy allows Antibody to do on its own, and what it may spend. */
export const servicePolicySchema = z.object({
  autoDeploy: z.boolean().describe('Roll a validated patch out automatically; when false, a pull request is opened instead.'),
  allowedPaths: z.array(text).describe('Glob patterns of paths a patch may touch.'),
  forbiddenPaths: z.array(text).describe('Glob patterns a patch must never touch; wins over allowedPaths.'),
  requireReproduction: z
    .boolean()
    .optional()
    .describe('Kept for registrations made before `unprovenPatches`; ignored: no patch is validated without a reproduction.'),
  unprovenPatches: z
    .enum(['escalate', 'pull-request'])
    .optional()
    .describe('What becomes of a fix no reproduction could prove (`PatchUnproven`): escalated to a person (the default), or a pull request marked unproven. Never a rollout.'),
  allowedErrors: z
    .array(text)
    .optional()
    .describe("Names of typed errors the service's callers handle (e.g. `ValidationError`): a patch may turn the captured crash into one of these."),
  budgets: z.object({
    perIncidentUsd: usd,
    dailyUsd: usd,
    monthlyUsd: usd,
  }),
});

/** A registration: everything Antibody needs to take care of one service. */
export const serviceRegistered = z.object({
  name: serviceNameSchema,
  repository: z.object({
    url: text.describe('A git URL or a local path (examples run from the working tree).'),
    defaultBranch: text,
  }),
  commands: z.object({
    install: text.optional(),
    build: text.optional(),
    test: text,
  }),
  language: text.describe('Main language of the code base, lowercase, e.g. `typescript`, `javascript`, `python`.'),
  sourceMaps: text.optional().describe('Where source maps are found (a path in the repository or a URL).'),
  scrubbing: z
    .object({
      extraSensitiveWords: z.array(text).optional().describe('Words added to the default sensitive words (key names and values containing them are filtered).'),
      safeKeys: z.array(text).optional().describe('Key names never filtered by name, e.g. `session_count`.'),
      removeIpAddresses: z.boolean().optional().describe('Remove IP addresses from reports (default true).'),
    })
    .optional()
    .describe("How ingest scrubs this service's error reports, on top of the defaults."),
  deploy: z.object({
    adapter: z.enum(['fleet', 'webhook', 'none']),
    settings: z.record(z.string(), jsonValue).describe('Adapter settings. Secrets are referenced (e.g. by environment variable name), never inlined.'),
  }),
  policy: servicePolicySchema,
});

export const serviceUpdated = z.object({
  registration: serviceRegistered.describe('The complete new registration (it replaces the previous one; `name` stays the same).'),
  changed: z
    .array(text)
    .min(1)
    .describe('Dotted paths of the fields that differ from the previous registration, e.g. `commands.test`, `policy.budgets.dailyUsd`: for people reading the history.'),
  reason: text.optional(),
});

export const servicePolicyChanged = z.object({
  policy: servicePolicySchema.describe('The complete new policy (it replaces the previous one).'),
  reason: text.optional(),
});

export const serviceDeregistered = z.object({
  name: serviceNameSchema,
  reason: text.optional(),
});

export const ingestKeyCreated = z.object({
  keyId: ingestKeyIdSchema,
  project: serviceNameSchema.describe('The service under care whose errors the key admits.'),
  hash: sha256Hex.describe('SHA-256 (hex) of the key. The key itself is shown once to its creator and never stored.'),
  label: text.optional(),
  rateLimitPerMinute: z.number().int().positive().optional().describe('Reports accepted per minute with this key (per ingest instance); the ingest default when absent.'),
});

export const ingestKeyRevoked = z.object({
  keyId: ingestKeyIdSchema,
  project: serviceNameSchema,
  reason: text.optional(),
});

/** Data schemas of the `service-<name>` stream, by event type. */
export const serviceEventSchemas = {
  ServiceRegistered: serviceRegistered,
  ServiceUpdated: serviceUpdated,
  ServicePolicyChanged: servicePolicyChanged,
  ServiceDeregistered: serviceDeregistered,
  IngestKeyCreated: ingestKeyCreated,
  IngestKeyRevoked: ingestKeyRevoked,
} as const;
