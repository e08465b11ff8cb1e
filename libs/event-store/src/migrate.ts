import { DataSource } from 'typeorm';
import type { Pool } from 'pg';
import { quoteSchema } from './identifiers';
import { CreateEventStore1763800000000 } from './migrations/1763800000000-CreateEventStore';

/** Every migration of the event store, oldest first. */
export const eventStoreMigrations = [CreateEventStore1763800000000];

export interface MigrateOptions {
  /** Postgres connection string. */
  readonly connectionString: string;
  /** Schema that holds the store (default `antibody`). */
  readonly schema?: string;
}

/**
 * Brings the store's schema up to date with TypeORM migrations. Safe to call from every instance
 * at start: a session advisory lock lets one migrate while the others wait, then find nothing to do.
 */
export async function migrateEventStore(options: MigrateOptions): Promise<void> {
  const schema = options.schema ?? 'antibody';
  quoteSchema(schema);
  const dataSource = new DataSource({
    type: 'postgres',
    url: options.connectionString,
    schema,
    migrations: eventStoreMigrations,
    migrationsTableName: 'migrations',
    migrationsTransactionMode: 'all',
    poolSize: 2,
    logging: false,
  });
  await dataSource.initialize();
  const runner = dataSource.createQueryRunner();
  try {
    await runner.connect();
    await runner.query(`SELECT pg_advisory_lock(hashtext($1))`, [`antibody-migrate:${schema}`]);
    // TypeORM creates its migrations table inside the schema, so the schema must exist first.
    await runner.query(`CREATE SCHEMA IF NOT EXISTS ${quoteSchema(schema)}`);
    await dataSource.runMigrations({ transaction: 'all' });
    await runner.query(`SELECT pg_advisory_unlock(hashtext($1))`, [`antibody-migrate:${schema}`]);
  } finally {
    await runner.release();
    await dataSource.destroy();
  }
}

/** Drops the store's schema and everything in it (tests and `antibody reset` only). */
export async function dropEventStore(pool: Pool, schema: string): Promise<void> {
  await pool.query(`DROP SCHEMA IF EXISTS ${quoteSchema(schema)} CASCADE`);
}
