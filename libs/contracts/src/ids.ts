import { z } from 'zod';

// Branded ids: the same string shape, different meanings. A brand makes passing a PatchId where an
// IncidentId is expected a compile error. Obtain one by parsing: `incidentIdSchema.parse(value)`.

/** Schema of an incident id: a uuid, branded `IncidentId`. Parsing fails on anything else. */
export const incidentIdSchema = z.uuid().brand<'IncidentId'>();
/** The id of an incident (stream `incident-<id>`). */
export type IncidentId = z.infer<typeof incidentIdSchema>;

/** Schema of a patch id: a uuid, branded `PatchId`. Parsing fails on anything else. */
export const patchIdSchema = z.uuid().brand<'PatchId'>();
/** The id of one proposed patch within an incident. */
export type PatchId = z.infer<typeof patchIdSchema>;

/** Schema of a learned pattern id: a uuid, branded `PatternId`. Parsing fails on anything else. */
export const patternIdSchema = z.uuid().brand<'PatternId'>();
/** The id of a learned fix pattern (stream `pattern-<id>`). */
export type PatternId = z.infer<typeof patternIdSchema>;

/** Schema of an ingest key id: a uuid, branded `IngestKeyId`. Parsing fails on anything else. */
export const ingestKeyIdSchema = z.uuid().brand<'IngestKeyId'>();
/** The public id of an ingest key (the secret itself is never stored in an event). */
export type IngestKeyId = z.infer<typeof ingestKeyIdSchema>;

/**
 * Schema of a service name: 1-100 characters of letters, digits, `.`, `_` or `-`, starting with a
 * letter or digit (it appears in stream ids `service-<name>` and in URLs), branded `ServiceName`.
 */
export const serviceNameSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, 'expected 1-100 letters, digits, ".", "_" or "-", starting with a letter or digit')
  .brand<'ServiceName'>();
/** The name of a service under care (stream `service-<name>`). */
export type ServiceName = z.infer<typeof serviceNameSchema>;
