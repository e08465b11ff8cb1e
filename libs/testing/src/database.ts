import { randomBytes } from 'node:crypto';
import { Pool } from 'pg';
import { createEventStore, dropEventStore, migrateEventStore, type EventStore } from '@antibody/event-store';

/** A migrated event store in a schema of its own, dropped by `cleanup`. */
export interface TestStore {
  readonly databaseUrl: string;
  readonly schema: string;
  readonly pool: Pool;
  readonly store: EventStore;
  cleanup(): Promise<void>;
}

/** The Postgres URL discovered by the global setup (or DATABASE_URL). */
export function testDatabaseUrl(): string {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('DATABASE_URL is not set: run specs through jest (its global setup finds Postgres)');
  return url;
}

/** The NATS URL discovered by the global setup, if any. */
export function testNatsUrl(): string | undefined {
  return process.env.NATS_URL;
}

/** A fresh lower-case name with a prefix, unique per call: schemas, streams, subjects, durables. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}${randomBytes(4).toString('hex')}`;
}

/** Creates a fresh schema, migrates it and opens a store on it. */
export async function createTestStore(prefix = 't', poolSize = 10): Promise<TestStore> {
  const databaseUrl = testDatabaseUrl();
  const schema = uniqueName(prefix);
  await migrateEventStore({ connectionString: databaseUrl, schema });
  const pool = new Pool({ connectionString: databaseUrl, max: poolSize });
  pool.on('error', () => undefined);
  const store = createEventStore({ pool, schema });
  return {
    databaseUrl,
    schema,
    pool,
    store,
    cleanup: async () => {
      await store.close();
      await dropEventStore(pool, schema).catch(() => undefined);
      await pool.end();
    },
  };
}
