import { z } from 'zod';

const MIB = 1024 * 1024;

function integer(min: number, max: number, fallback: number) {
  return z
    .string()
    .refine((v) => /^\d+$/.test(v.trim()) && Number(v) >= min && Number(v) <= max, { error: `must be an integer between ${min} and ${max}` })
    .transform(Number)
    .optional()
    .transform((v) => v ?? fallback);
}

/**
 * antibody-ingest's own settings (environment variables), read next to the platform's:
 * - `INGEST_MAX_BODY_BYTES`: largest request body as sent (compressed), default 20 MiB.
 * - `INGEST_MAX_DECOMPRESSED_BYTES`: largest body after decompression (the gzip-bomb cap), default 20 MiB.
 * - `INGEST_MAX_ITEM_BYTES`: largest envelope item (one event), default 1 MiB.
 * - `INGEST_RATE_LIMIT_PER_MINUTE`: reports accepted per ingest key per minute (per instance) when
 *   the key sets no limit of its own, default 60000.
 * - `INGEST_SAMPLES_PER_INCIDENT`: full samples (ErrorRecorded) kept per incident, default 10.
 * - `INGEST_BUCKET_SECONDS`: width of the count buckets, default 60.
 * - `INGEST_RETRY_AFTER_SECONDS`: Retry-After sent with 503 while Postgres cannot store, default 10.
 * - `INGEST_KEEP_PROCESSED_HOURS`: processed intake rows are kept this long (retries of the same
 *   report id within it are stored once), default 24.
 * - `INGEST_INTAKE_VACUUM_ROWS`: the processor vacuums the intake table after this many reports
 *   (at most once a second), so that the space of processed ones is reused at once; 0 leaves it to
 *   autovacuum. Default 1000.
 * - `INGEST_SOURCE_ROOT`: directory that relative `repository.url`s of registered services resolve
 *   against when looking for source maps, default the working directory.
 * - `INGEST_PROCESSING`: `thread` (default) runs the intake processor in a worker thread of its own
 *   (own event loop and Postgres pool); `inline` runs it on the HTTP event loop.
 */
export const ingestSettingsSchema = z.object({
  INGEST_MAX_BODY_BYTES: integer(1024, 1024 * MIB, 20 * MIB),
  INGEST_MAX_DECOMPRESSED_BYTES: integer(1024, 1024 * MIB, 20 * MIB),
  INGEST_MAX_ITEM_BYTES: integer(1024, 100 * MIB, MIB),
  INGEST_RATE_LIMIT_PER_MINUTE: integer(1, 100_000_000, 60_000),
  INGEST_SAMPLES_PER_INCIDENT: integer(0, 10_000, 10),
  INGEST_BUCKET_SECONDS: integer(1, 86_400, 60),
  INGEST_RETRY_AFTER_SECONDS: integer(1, 3600, 10),
  INGEST_KEEP_PROCESSED_HOURS: integer(1, 24 * 365, 24),
  INGEST_INTAKE_VACUUM_ROWS: integer(0, 100_000_000, 1000),
  INGEST_SOURCE_ROOT: z.string().optional(),
  INGEST_PROCESSING: z
    .enum(['thread', 'inline'], { error: 'must be thread or inline' })
    .optional()
    .transform((v) => v ?? 'thread'),
});

/** The validated ingest settings. */
export type IngestSettings = z.infer<typeof ingestSettingsSchema>;

/** Defaults of every setting (what an empty environment yields). */
export const DEFAULT_INGEST_SETTINGS: IngestSettings = ingestSettingsSchema.parse({});

/**
 * Reads the ingest settings from `env` (empty values count as unset).
 * @throws Error whose message is one line naming each bad variable and its value.
 */
export function loadIngestSettings(env: NodeJS.ProcessEnv): IngestSettings {
  const input: Record<string, string> = {};
  for (const key of Object.keys(ingestSettingsSchema.shape)) {
    const value = env[key];
    if (value !== undefined && value !== '') input[key] = value;
  }
  const result = ingestSettingsSchema.safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const variable = issue.path.map(String).join('.');
    return `${variable} ${issue.message} (got ${JSON.stringify(input[variable] ?? '')})`;
  });
  throw new Error(`antibody-ingest: invalid configuration: ${problems.join('; ')}`);
}
