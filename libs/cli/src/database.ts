import { Pool } from 'pg';
import { createEventStore, type EventStore } from '@antibody/event-store';
import { describeDatabaseError, usageError, type DatabaseTarget } from './errors';

/** Default schema of the event store when neither --schema nor ANTIBODY_SCHEMA is given. */
export const DEFAULT_SCHEMA = 'antibody';

/** The global options every command reads. */
export interface GlobalOptions {
  readonly databaseUrl?: string;
  readonly schema?: string;
}

/** Resolves --database-url / DATABASE_URL and --schema / ANTIBODY_SCHEMA. Throws a usage error when no URL is known. */
export function resolveTarget(options: GlobalOptions, env: Readonly<Record<string, string | undefined>>): DatabaseTarget {
  const databaseUrl = options.databaseUrl ?? env.DATABASE_URL;
  if (!databaseUrl) throw usageError('no database: pass --database-url or set DATABASE_URL');
  let protocol: string;
  try {
    protocol = new URL(databaseUrl).protocol;
  } catch {
    throw usageError('--database-url must be a URL like postgres://user@host:5432/db');
  }
  if (protocol !== 'postgres:' && protocol !== 'postgresql:') throw usageError(`--database-url must start with postgres:// (got ${protocol}//…)`);
  const schema = options.schema ?? (env.ANTIBODY_SCHEMA || DEFAULT_SCHEMA);
  return { databaseUrl, schema };
}

/**
 * Opens a pool and an event store on `target`, runs `use`, then closes both, whatever happens.
 * pg and network errors are rethrown as CliErrors naming the server or the schema.
 */
export async function withStore<T>(target: DatabaseTarget, use: (store: EventStore) => Promise<T>): Promise<T> {
  const pool = new Pool({ connectionString: target.databaseUrl, max: 2, connectionTimeoutMillis: 10_000 });
  pool.on('error', () => undefined); // an idle client's error surfaces on the next query instead
  try {
    const store = createEventStore({ pool, schema: target.schema });
    try {
      return await use(store);
    } finally {
      await store.close();
    }
  } catch (error) {
    throw describeDatabaseError(error, target);
  } finally {
    await pool.end().catch(() => undefined);
  }
}
