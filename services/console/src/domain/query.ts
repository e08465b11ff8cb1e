// The HTTP API's inputs, checked before anything is read or decided: list filters, cursors and
// command bodies. A bad input is answered 400 with a message naming the field and what it expects.
import { z } from 'zod';
import { patchIdSchema, serviceNameSchema } from '@antibody/contracts';
import { CONSOLE_STATUSES, type ConsoleStatus } from './incident-view';

/** An input that is not what the API expects: `field` names it, `message` says what is wrong and what is expected. */
export class InvalidInputError extends Error {
  override readonly name = 'InvalidInputError';
  readonly code = 'INVALID_INPUT';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

/** Where a page of incidents ends: the sort key (openedAt, incidentId) of its last row. */
export interface IncidentCursor {
  readonly openedAt: string;
  readonly incidentId: string;
}

/** The opaque cursor of a page's last row (base64url JSON). */
export function encodeCursor(cursor: IncidentCursor): string {
  return Buffer.from(JSON.stringify([cursor.openedAt, cursor.incidentId])).toString('base64url');
}

const cursorSchema = z.tuple([z.iso.datetime(), z.uuid()]);

/** The cursor a `next` link carried; throws {@link InvalidInputError} for anything else. */
export function decodeCursor(text: string): IncidentCursor {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    parsed = undefined;
  }
  const checked = cursorSchema.safeParse(parsed);
  if (!checked.success) throw new InvalidInputError('cursor', 'not a cursor this API gave out; pass the `next` value of the previous page unchanged');
  return { openedAt: checked.data[0], incidentId: checked.data[1] };
}

/** Filters and page of `GET /v1/incidents`. */
export interface IncidentListQuery {
  readonly statuses?: readonly ConsoleStatus[];
  readonly service?: string;
  /** Only incidents seen at or after this time (ISO-8601). */
  readonly since?: string;
  readonly limit: number;
  readonly cursor?: IncidentCursor;
}

export const DEFAULT_PAGE = 50;
export const MAX_PAGE = 500;

type Query = Readonly<Record<string, unknown>>;

function single(query: Query, field: string): string | undefined {
  const value = query[field];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new InvalidInputError(field, 'give it once, as a plain value');
  return value;
}

function refuseUnknown(query: Query, known: readonly string[]): void {
  for (const field of Object.keys(query)) {
    if (!known.includes(field)) throw new InvalidInputError(field, `unknown query parameter; this endpoint takes ${known.join(', ')}`);
  }
}

/** `since`: an ISO-8601 timestamp or a duration back from `now` (`15m`, `24h`, `7d`). */
export function parseSince(value: string | undefined, now: number): string | undefined {
  if (value === undefined) return undefined;
  const relative = /^(\d+)([smhd])$/.exec(value);
  if (relative) {
    const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[relative[2] as 's' | 'm' | 'h' | 'd'];
    return new Date(now - Number(relative[1]) * unit).toISOString();
  }
  if (!z.iso.datetime({ offset: true }).safeParse(value).success) throw new InvalidInputError('since', `expected an ISO-8601 time (2026-01-31T12:00:00Z) or a duration such as 15m, 24h, 7d; got ${JSON.stringify(value)}`);
  return new Date(value).toISOString();
}

/** `limit`: 1..MAX_PAGE, DEFAULT_PAGE when absent. */
export function parseLimit(value: string | undefined): number {
  if (value === undefined) return DEFAULT_PAGE;
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > MAX_PAGE) throw new InvalidInputError('limit', `expected an integer from 1 to ${MAX_PAGE}; got ${JSON.stringify(value)}`);
  return Number(value);
}

/** `service`: a service name as registered. */
export function parseService(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (!serviceNameSchema.safeParse(value).success) throw new InvalidInputError('service', `expected a service name (letters, digits, ".", "_", "-"); got ${JSON.stringify(value)}`);
  return value;
}

/** The query of `GET /v1/incidents`; throws {@link InvalidInputError}. `status` may list several, comma-separated. */
export function parseIncidentListQuery(query: Query, now: number): IncidentListQuery {
  refuseUnknown(query, ['status', 'service', 'since', 'limit', 'cursor']);
  const status = single(query, 'status');
  const statuses = status?.split(',').map((s) => s.trim());
  for (const s of statuses ?? []) {
    if (!(CONSOLE_STATUSES as readonly string[]).includes(s)) throw new InvalidInputError('status', `expected one or more of ${CONSOLE_STATUSES.join(', ')} (comma-separated); got ${JSON.stringify(s)}`);
  }
  const cursor = single(query, 'cursor');
  const service = parseService(single(query, 'service'));
  const since = parseSince(single(query, 'since'), now);
  return {
    ...(statuses ? { statuses: statuses as ConsoleStatus[] } : {}),
    ...(service !== undefined ? { service } : {}),
    ...(since !== undefined ? { since } : {}),
    limit: parseLimit(single(query, 'limit')),
    ...(cursor !== undefined ? { cursor: decodeCursor(cursor) } : {}),
  };
}

/** The query of the other lists (`service`, `since`, `limit`), each where the endpoint takes it. */
export function parseListQuery(query: Query, now: number, known: readonly ('service' | 'since' | 'limit' | 'status')[]): { service?: string; since?: string; limit: number; status?: string } {
  refuseUnknown(query, known);
  const service = parseService(single(query, 'service'));
  const since = parseSince(single(query, 'since'), now);
  const status = single(query, 'status');
  return { ...(service !== undefined ? { service } : {}), ...(since !== undefined ? { since } : {}), ...(status !== undefined ? { status } : {}), limit: parseLimit(single(query, 'limit')) };
}

const comment = z.string().trim().min(1).max(2000);
const reason = z.string().trim().min(1, 'a reason is required: say why, for the audit trail').max(2000);

/** Bodies of the commands, by command. Unknown fields are refused (a typo must not pass silently). */
export const commandBodySchemas = {
  approve: z.strictObject({ patchId: patchIdSchema.describe('The patch approved, named explicitly (it must be one of the incident\'s).'), comment: comment.optional() }),
  reject: z.strictObject({ patchId: patchIdSchema.describe('The patch rejected, named explicitly (it must be one of the incident\'s).'), comment: comment.optional() }),
  retry: z.strictObject({ from: z.literal('diagnosis').describe('The step to retry from. Only `diagnosis` is carried out by the loop today.'), comment: comment.optional() }),
  resolve: z.strictObject({ reason, patchId: patchIdSchema.optional().describe("The incident's patch that fixed it, if one did.") }),
  close: z.strictObject({ reason }),
} as const;

export type CommandName = keyof typeof commandBodySchemas;
export type CommandBody<C extends CommandName> = z.infer<(typeof commandBodySchemas)[C]>;

/** A command's body checked against its schema; throws {@link InvalidInputError} naming the first bad field. */
export function parseCommandBody<C extends CommandName>(command: C, body: unknown): CommandBody<C> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new InvalidInputError('body', 'expected a JSON object (Content-Type: application/json)');
  const parsed = commandBodySchemas[command].safeParse(body);
  if (parsed.success) return parsed.data as CommandBody<C>;
  const issue = parsed.error.issues[0];
  const field = issue?.path.length ? issue.path.join('.') : issue?.code === 'unrecognized_keys' ? issue.keys.join(', ') : 'body';
  const message =
    issue?.code === 'unrecognized_keys'
      ? `unknown field; ${command} takes ${Object.keys(commandBodySchemas[command].shape).join(', ')}`
      : field === 'patchId' && issue?.code !== 'invalid_type'
        ? 'expected a patch id (a uuid, as GET /v1/incidents/{id} lists under candidates)'
        : issue?.code === 'invalid_type' && issue.input === undefined
          ? `required; ${command} takes ${Object.keys(commandBodySchemas[command].shape).join(', ')}`
          : (issue?.message ?? 'invalid');
  throw new InvalidInputError(field, message);
}
