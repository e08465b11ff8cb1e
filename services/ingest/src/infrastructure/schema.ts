import { quoteSchema } from '@antibody/event-store';
import type { Pool } from 'pg';

/**
 * Creates ingest's tables (idempotent; run at start, safe with several instances racing thanks to
 * an advisory lock). They live in the event store's schema, prefixed `ingest_`:
 *
 * - `ingest_intake`: the durable inbox of reports not yet processed (the report as JSON text in
 *   `body`; `payload` jsonb in rows written by earlier versions). A report is acknowledged only after
 *   its row committed; the processor deletes it in the same transaction as its counts, so each
 *   accepted report is counted exactly once. A row that cannot be processed is kept, marked
 *   `processed_at` with its `failure`, for INGEST_KEEP_PROCESSED_HOURS.
 * - `ingest_intake_ids`: the id of every report stored in the last INGEST_KEEP_PROCESSED_HOURS
 *   (written with its intake row): a client retry of a report already stored, processed or not, is
 *   not stored again. Deleting processed rows (instead of an UPDATE, which rewrote the whole row and
 *   its index entries) keeps the processing transaction cheap.
 * - `ingest_fingerprints`: per (service, fingerprint) the incident, its status and samples stored.
 * - `ingest_incident_counts`: occurrences per incident per time bucket; `emitted_count` is how many
 *   of them OccurrencesCounted events already reported (a late arrival is reported as a delta).
 * - `ingest_release_counts`: per (service, release, environment, bucket) errors, requests, request
 *   errors, request duration sum and histogram (`request_duration_histogram`, a bigint[] of counts
 *   per bucket of domain/latency.ts; empty when no durations were recorded) and session outcomes —
 *   the read model the deployer's canary judge reads (GET /v1/releases/counts).
 * - `ingest_client_drops`: what SDKs reported dropping, per reason and category.
 * - `ingest_keys`, `ingest_services`: projections of the `service-<name>` streams.
 */
export async function migrateIngestSchema(pool: Pool, schema: string): Promise<void> {
  const s = quoteSchema(schema);
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [`antibody-ingest-migrate-${schema}`]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
    const hadIds = (await client.query<{ t: string | null }>(`SELECT to_regclass($1) AS t`, [`${s}.ingest_intake_ids`])).rows[0]?.t != null;
    await client.query(`
      CREATE TABLE IF NOT EXISTS ${s}.ingest_intake (
        id uuid PRIMARY KEY,
        service text NOT NULL,
        kind text NOT NULL,
        body text,
        payload jsonb,
        traceparent text,
        tracestate text,
        received_at timestamptz NOT NULL DEFAULT now(),
        processed_at timestamptz,
        failure text
      );
      CREATE INDEX IF NOT EXISTS ingest_intake_pending ON ${s}.ingest_intake (received_at) WHERE processed_at IS NULL;
      CREATE INDEX IF NOT EXISTS ingest_intake_processed ON ${s}.ingest_intake (processed_at) WHERE processed_at IS NOT NULL;
      CREATE TABLE IF NOT EXISTS ${s}.ingest_intake_ids (
        id uuid PRIMARY KEY,
        service text NOT NULL,
        received_at timestamptz NOT NULL
      );
      CREATE INDEX IF NOT EXISTS ingest_intake_ids_received ON ${s}.ingest_intake_ids USING brin (received_at);
      CREATE TABLE IF NOT EXISTS ${s}.ingest_fingerprints (
        service text NOT NULL,
        fingerprint text NOT NULL,
        incident_id uuid NOT NULL UNIQUE,
        status text NOT NULL,
        samples integer NOT NULL,
        basis text NOT NULL,
        first_seen timestamptz NOT NULL,
        last_seen timestamptz NOT NULL,
        occurrences bigint NOT NULL DEFAULT 0,
        PRIMARY KEY (service, fingerprint)
      );
      CREATE TABLE IF NOT EXISTS ${s}.ingest_incident_counts (
        incident_id uuid NOT NULL,
        bucket_start timestamptz NOT NULL,
        bucket_seconds integer NOT NULL,
        count bigint NOT NULL,
        emitted_count bigint NOT NULL DEFAULT 0,
        PRIMARY KEY (incident_id, bucket_start)
      );
      CREATE INDEX IF NOT EXISTS ingest_incident_counts_unemitted ON ${s}.ingest_incident_counts (bucket_start) WHERE count > emitted_count;
      CREATE TABLE IF NOT EXISTS ${s}.ingest_release_counts (
        service text NOT NULL,
        release text NOT NULL,
        environment text NOT NULL,
        bucket_start timestamptz NOT NULL,
        bucket_seconds integer NOT NULL,
        errors bigint NOT NULL DEFAULT 0,
        requests bigint NOT NULL DEFAULT 0,
        request_errors bigint NOT NULL DEFAULT 0,
        request_duration_ms_sum double precision NOT NULL DEFAULT 0,
        request_duration_histogram bigint[] NOT NULL DEFAULT '{}',
        sessions_ok bigint NOT NULL DEFAULT 0,
        sessions_errored bigint NOT NULL DEFAULT 0,
        sessions_crashed bigint NOT NULL DEFAULT 0,
        sessions_abnormal bigint NOT NULL DEFAULT 0,
        PRIMARY KEY (service, release, environment, bucket_start)
      );

      CREATE TABLE IF NOT EXISTS ${s}.ingest_client_drops (
        service text NOT NULL,
        reason text NOT NULL,
        category text NOT NULL,
        bucket_start timestamptz NOT NULL,
        quantity bigint NOT NULL,
        PRIMARY KEY (service, reason, category, bucket_start)
      );
      CREATE TABLE IF NOT EXISTS ${s}.ingest_keys (
        hash text PRIMARY KEY,
        key_id uuid NOT NULL UNIQUE,
        project text NOT NULL,
        label text,
        rate_limit_per_minute integer,
        revoked boolean NOT NULL DEFAULT false
      );
      CREATE TABLE IF NOT EXISTS ${s}.ingest_services (
        name text PRIMARY KEY,
        repository text NOT NULL,
        source_maps text,
        scrubbing jsonb,
        deregistered boolean NOT NULL DEFAULT false
      );
    `);
    // Columns added after the first release. ALTER TABLE takes an exclusive lock even when there is
    // nothing to do, which would stall the intake of running instances behind it: only run when needed.
    const columns = await client.query<{ table_name: string; column_name: string; is_nullable: string }>(
      `SELECT table_name, column_name, is_nullable FROM information_schema.columns
       WHERE table_schema = $1 AND ((table_name = 'ingest_release_counts' AND column_name = 'request_duration_histogram')
         OR (table_name = 'ingest_intake' AND column_name IN ('body', 'payload')))`,
      [schema],
    );
    const column = (table: string, name: string) => columns.rows.find((c) => c.table_name === table && c.column_name === name);
    // A constant default: no table rewrite.
    if (!column('ingest_release_counts', 'request_duration_histogram')) {
      await client.query(`ALTER TABLE ${s}.ingest_release_counts ADD COLUMN IF NOT EXISTS request_duration_histogram bigint[] NOT NULL DEFAULT '{}'`);
    }
    // Reports are stored as JSON text in body (cheaper to write and to read than jsonb, and the
    // processor parses them anyway); rows written before keep their jsonb payload.
    if (!column('ingest_intake', 'body')) await client.query(`ALTER TABLE ${s}.ingest_intake ADD COLUMN IF NOT EXISTS body text`);
    if (column('ingest_intake', 'payload')?.is_nullable === 'NO') await client.query(`ALTER TABLE ${s}.ingest_intake ALTER COLUMN payload DROP NOT NULL`);
    // TOAST compresses every value over ~2 KB on the way in, and pglz (the default) cost Postgres
    // about a quarter of its CPU per stored report (measured on Postgres 15 with 3.5 KB reports).
    // The intake is a transient inbox, so rows up to a page are kept uncompressed
    // (toast_tuple_target 8160); larger ones are compressed with lz4 where the server has it
    // (Postgres 14+ built with lz4, as the distributions' packages are), pglz otherwise.
    const storage = await client.query<{ lz4: boolean; target: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY (enumvals)) AS lz4,
              coalesce((SELECT 'toast_tuple_target=8160' = ANY (reloptions) FROM pg_class WHERE oid = $1::regclass), false) AS target`,
      [`${s}.ingest_intake`],
    );
    const { lz4, target } = storage.rows[0]!;
    if (!target) await client.query(`ALTER TABLE ${s}.ingest_intake SET (toast_tuple_target = 8160)`);
    // Only servers with lz4 (14+) have pg_attribute.attcompression.
    if (lz4) {
      const current = await client.query<{ method: string }>(`SELECT attcompression::text AS method FROM pg_attribute WHERE attrelid = $1::regclass AND attname = 'body'`, [
        `${s}.ingest_intake`,
      ]);
      if (current.rows[0]?.method !== 'l') await client.query(`ALTER TABLE ${s}.ingest_intake ALTER COLUMN body SET COMPRESSION lz4`);
    }
    // Ids of reports stored before the id table existed (processed rows were kept then): they keep
    // deduplicating retries until pruned.
    if (!hadIds) {
      await client.query(`INSERT INTO ${s}.ingest_intake_ids (id, service, received_at) SELECT id, service, received_at FROM ${s}.ingest_intake ON CONFLICT (id) DO NOTHING`);
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}
