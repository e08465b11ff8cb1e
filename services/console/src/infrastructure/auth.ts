import { createHash } from 'node:crypto';
import { HttpStatus } from '@nestjs/common';
import type { OperatorIdentity, OperatorTokenId } from '@antibody/contracts';
import { mayRun, ROLE_NEEDED, type OperatorCommandName } from '@antibody/domain';
import { quoteSchema } from '@antibody/event-store';
import type { Pool } from 'pg';
import { httpError } from './http-errors';

/** SHA-256 (hex) of an operator token, as OperatorTokenCreated records it. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/**
 * Authenticates `Authorization: Bearer <operator token>` against the token read model (the token's
 * SHA-256; the token itself is never stored) and authorises commands by role. 401 when no token or
 * an unknown or revoked one is presented, 403 when the token's role may not run the command.
 */
export class OperatorAuth {
  private readonly s: string;

  constructor(
    private readonly pool: Pool,
    schema: string,
  ) {
    this.s = quoteSchema(schema);
  }

  async authenticate(authorization: string | undefined): Promise<OperatorIdentity> {
    const token = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '')?.[1];
    if (!token) throw httpError(HttpStatus.UNAUTHORIZED, 'missing_token', 'send an operator token as `Authorization: Bearer <token>`; create one with `antibody tokens create --name <you> --role viewer`');
    const { rows } = await this.pool.query<{ token_id: string; name: string; role: OperatorIdentity['role']; revoked_at: Date | null }>(
      `SELECT token_id, name, role, revoked_at FROM ${this.s}.console_tokens WHERE hash = $1`,
      [hashToken(token)],
    );
    const row = rows[0];
    if (!row) throw httpError(HttpStatus.UNAUTHORIZED, 'unknown_token', 'this operator token is not known; check it, or create one with `antibody tokens create`');
    if (row.revoked_at) throw httpError(HttpStatus.UNAUTHORIZED, 'revoked_token', `operator token ${row.name} was revoked at ${row.revoked_at.toISOString()}; ask an admin for a new one`);
    return { tokenId: row.token_id as OperatorTokenId, name: row.name, role: row.role };
  }

  /** 403 unless the identity's role may run the command. */
  authorise(identity: OperatorIdentity, command: OperatorCommandName): void {
    if (!mayRun(identity.role, command)) {
      throw httpError(HttpStatus.FORBIDDEN, 'forbidden', `${command} needs a token with role ${ROLE_NEEDED[command]} or above; token ${identity.name} is ${identity.role}`);
    }
  }
}
