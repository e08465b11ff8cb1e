import { z } from 'zod';
import { patchIdSchema } from '../ids';
import { sha256Hex, text } from '../primitives';

// People operating Antibody through the console's API: the operator tokens they authenticate with
// (stream `token-<tokenId>`), and what they decide on an incident that no earlier event expressed
// (closing it, declaring it resolved). Approve, reject and retry stay DecisionRecorded, whose `by`
// is the token's name; the console also writes the token's identity to the metadata (`actor`).

/**
 * What an operator token may do, each role including the ones before it: `viewer` reads;
 * `operator` also retries, resolves and closes incidents; `approver` also approves and rejects
 * patches; `admin` may do everything.
 */
export const operatorRoleSchema = z.enum(['viewer', 'operator', 'approver', 'admin']);

/** Schema of an operator token id: a uuid, branded `OperatorTokenId`. */
export const operatorTokenIdSchema = z.uuid().brand<'OperatorTokenId'>();

/** The name a token goes by in decisions: a person or a system, 1-100 letters, digits, `.`, `_`, `@`, `-`. */
export const operatorNameSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$/, 'expected 1-100 letters, digits, ".", "_", "@" or "-", starting with a letter or digit');

/** Who acted: the operator token that authenticated the command, as it was created, and its role. */
export const operatorIdentitySchema = z.object({
  tokenId: operatorTokenIdSchema,
  name: operatorNameSchema,
  role: operatorRoleSchema,
});

export const operatorTokenCreated = z.object({
  tokenId: operatorTokenIdSchema,
  name: operatorNameSchema,
  role: operatorRoleSchema,
  hash: sha256Hex.describe('SHA-256 (hex) of the token. The token itself is shown once to its creator and never stored.'),
});

export const operatorTokenRevoked = z.object({
  tokenId: operatorTokenIdSchema,
  reason: text.optional(),
});

export const incidentClosed = z.object({
  by: operatorIdentitySchema,
  reason: text.describe('Why no fix will be made, e.g. "not a bug", "duplicate of …", "the feature was removed".'),
});

export const manualResolutionRecorded = z.object({
  by: operatorIdentitySchema,
  reason: text.describe('How it was fixed outside the loop, e.g. "hotfix 1.4.3 deployed by the team".'),
  patchId: patchIdSchema.optional().describe("The incident's patch that fixed it, when one did."),
});

/** Data schemas of the `token-<tokenId>` stream, by event type. */
export const tokenEventSchemas = {
  OperatorTokenCreated: operatorTokenCreated,
  OperatorTokenRevoked: operatorTokenRevoked,
} as const;

/** Data schemas of the events people append to an `incident-<id>` stream through the console, by event type. */
export const operatorIncidentEventSchemas = {
  ManualResolutionRecorded: manualResolutionRecorded,
  IncidentClosed: incidentClosed,
} as const;

/** A role of an operator token. */
export type OperatorRole = z.infer<typeof operatorRoleSchema>;
/** The id of an operator token (stream `token-<id>`; the secret itself is never stored in an event). */
export type OperatorTokenId = z.infer<typeof operatorTokenIdSchema>;
/** Who acted, as decision events record it. */
export type OperatorIdentity = z.infer<typeof operatorIdentitySchema>;
