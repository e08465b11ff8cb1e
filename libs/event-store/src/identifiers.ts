import { v5 as uuidv5 } from 'uuid';
import { EventStoreConfigError } from './errors';

const SAFE_IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

/** Returns the schema name quoted for SQL, or throws when it is not a plain lower-case identifier. */
export function quoteSchema(schema: string): string {
  if (!SAFE_IDENTIFIER.test(schema)) {
    throw new EventStoreConfigError(
      `schema name "${schema}" is not allowed: use lower-case letters, digits and underscores (max 63)`,
    );
  }
  return `"${schema}"`;
}

// A fixed namespace: ids derived from (causation, handler) are the same on every machine, forever.
const HANDLER_NAMESPACE = '9b3c1c8e-4f0a-5d6e-8a47-2f1e6b0d7c35';

/**
 * The id of the `index`-th event a handler appends in reaction to `causationId`. Deterministic, so
 * a redelivered message re-appends the same ids and the store turns the retry into a no-op.
 */
export function deterministicEventId(causationId: string, handler: string, index = 0): string {
  return uuidv5(`${causationId}|${handler}|${index}`, HANDLER_NAMESPACE);
}
