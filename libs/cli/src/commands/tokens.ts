import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { foldEvents, operatorNameSchema, operatorRoleSchema, type OperatorRole } from '@antibody/contracts';
import { operatorTokenFold } from '@antibody/domain';
import type { EventStore } from '@antibody/event-store';
import { usageError } from '../errors';
import type { Output } from '../output';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function metadata(tokenId: string) {
  return { correlationId: `token-${tokenId}`, causationId: null, producer: { service: 'cli', instance: `${hostname()}-${process.pid}` }, occurredAt: new Date().toISOString() };
}

/**
 * `antibody tokens create --name <n> --role <role>`: appends OperatorTokenCreated to a new
 * `token-<id>` stream with the token's SHA-256 (never the token) and prints the token once. The
 * console authenticates its API with it within a second. Usage error (exit 2) for a bad name or role.
 */
export async function createToken(store: EventStore, options: { name: string; role: string; json?: boolean }, out: Output): Promise<void> {
  if (!operatorNameSchema.safeParse(options.name).success) throw usageError(`--name must be 1-100 letters, digits, ".", "_", "@" or "-" (got ${JSON.stringify(options.name)})`);
  const role = operatorRoleSchema.safeParse(options.role);
  if (!role.success) throw usageError(`--role must be one of ${operatorRoleSchema.options.join(', ')} (got ${JSON.stringify(options.role)})`);
  const token = `abo_${randomBytes(24).toString('base64url')}`;
  const tokenId = randomUUID();
  await store.appendToStream(
    `token-${tokenId}`,
    [{ type: 'OperatorTokenCreated', data: { tokenId, name: options.name, role: role.data, hash: createHash('sha256').update(token).digest('hex') }, metadata: metadata(tokenId) }],
    { expectedVersion: 'no-stream' },
  );
  if (options.json) {
    out.line(JSON.stringify({ tokenId, name: options.name, role: role.data, token }));
    return;
  }
  out.line(`operator token ${tokenId} created for ${options.name} (${role.data})`);
  out.line(`  token: ${token}  (shown once; only its SHA-256 is stored)`);
  out.line(`  use: Authorization: Bearer ${token}`);
}

interface TokenView {
  readonly tokenId: string;
  readonly name: string;
  readonly role: OperatorRole;
  readonly createdAt?: string;
  readonly revokedAt?: string;
}

/** Every operator token, from the `token-*` streams folded by the domain's token fold (never the tokens). */
async function allTokens(store: EventStore): Promise<TokenView[]> {
  const streams = await store.listStreams('token-');
  const views: TokenView[] = [];
  for (const { streamId } of streams) {
    const state = foldEvents(operatorTokenFold, (await store.readStream(streamId)).events);
    if (!state.token) continue;
    views.push({ tokenId: state.token.tokenId, name: state.token.name, role: state.token.role, ...(state.createdAt ? { createdAt: state.createdAt } : {}), ...(state.revokedAt ? { revokedAt: state.revokedAt } : {}) });
  }
  return views.sort((a, b) => (a.createdAt ?? '').localeCompare(b.createdAt ?? ''));
}

/** `antibody tokens list`: ids, names, roles, creation and revocation, never the tokens. */
export async function listTokens(store: EventStore, options: { json?: boolean }, out: Output): Promise<void> {
  const tokens = await allTokens(store);
  if (options.json) {
    out.line(JSON.stringify(tokens, null, 2));
    return;
  }
  if (tokens.length === 0) {
    out.line('no operator tokens; create one with `antibody tokens create --name <you> --role viewer|operator|approver|admin`');
    return;
  }
  for (const t of tokens) out.line([t.tokenId, t.name, t.role, t.revokedAt ? `revoked ${t.revokedAt}` : 'active', `created ${t.createdAt ?? '?'}`].join('  '));
}

/** `antibody tokens revoke <tokenId>`: appends OperatorTokenRevoked. Usage error for an unknown or already revoked token. */
export async function revokeToken(store: EventStore, options: { tokenId: string; reason?: string }, out: Output): Promise<void> {
  if (!UUID.test(options.tokenId)) throw usageError(`token id must be a uuid (see \`antibody tokens list\`), got ${JSON.stringify(options.tokenId)}`);
  const stream = await store.readStream(`token-${options.tokenId}`);
  const state = foldEvents(operatorTokenFold, stream.events);
  if (state.status === 'unknown') throw usageError(`no operator token ${options.tokenId}; see \`antibody tokens list\``);
  if (state.status === 'revoked') throw usageError(`operator token ${options.tokenId} was already revoked at ${state.revokedAt ?? '?'}`);
  await store.appendToStream(
    `token-${options.tokenId}`,
    [{ type: 'OperatorTokenRevoked', data: { tokenId: options.tokenId, ...(options.reason ? { reason: options.reason } : {}) }, metadata: metadata(options.tokenId) }],
    { expectedVersion: stream.currentVersion },
  );
  out.line(`operator token ${options.tokenId} (${state.token?.name ?? '?'}) revoked; the console refuses it within a second`);
}
