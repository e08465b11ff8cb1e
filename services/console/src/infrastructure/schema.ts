import { quoteSchema } from '@antibody/event-store';
import type { Pool } from 'pg';

/** The console's tables, emptied together on a rebuild (tokens have their own subscription and are kept). */
export const READ_MODEL_TABLES = ['console_incidents', 'console_incident_timeline', 'console_rollouts', 'console_costs', 'console_services', 'console_patterns'] as const;

/**
 * Creates the console's read models (idempotent, advisory-locked so instances may start together).
 * They live in the event store's schema, prefixed `console_`, and are all derived from the log:
 * dropping them and the checkpoints `console-read-models` / `console-tokens` rebuilds them.
 *
 * - `console_incidents`: one row per incident (the list), with its detail as jsonb (the show).
 * - `console_incident_timeline`: one row per incident event but OccurrencesCounted (summed in the row).
 * - `console_rollouts`: one row per rollout (incident, patch), with the judge's evidence.
 * - `console_costs`: one row per metered LLM call.
 * - `console_services`, `console_patterns`: one row per service under care, per learned pattern.
 * - `console_tokens`: operator tokens (hash, name, role, revoked), for authentication.
 */
export async function migrateConsoleSchema(pool: Pool, schema: string): Promise<void> {
  const s = quoteSchema(schema);
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [`antibody-console-migrate-${schema}`]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
    await client.query(`
      CREATE TABLE IF NOT EXISTS ${s}.console_incidents (
        incident_id uuid PRIMARY KEY,
        service text NOT NULL,
        title text NOT NULL,
        culprit text,
        fingerprint text NOT NULL,
        release text,
        environment text,
        status text NOT NULL,
        round integer NOT NULL,
        samples integer NOT NULL,
        occurrences bigint NOT NULL,
        first_seen timestamptz NOT NULL,
        last_seen timestamptz NOT NULL,
        chosen_patch_id uuid,
        pull_request_url text,
        cost_usd double precision NOT NULL,
        trace_id text,
        opened_at timestamptz NOT NULL,
        diagnosed_at timestamptz,
        proposed_at timestamptz,
        verdict_at timestamptz,
        committed_at timestamptz,
        rollout_started_at timestamptz,
        rollout_ended_at timestamptz,
        decided_at timestamptz,
        resolved_at timestamptz,
        escalated_at timestamptz,
        closed_at timestamptz,
        updated_at timestamptz NOT NULL,
        version integer NOT NULL,
        detail jsonb NOT NULL
      );
      CREATE INDEX IF NOT EXISTS console_incidents_page ON ${s}.console_incidents (opened_at DESC, incident_id DESC);
      CREATE INDEX IF NOT EXISTS console_incidents_status_page ON ${s}.console_incidents (status, opened_at DESC, incident_id DESC);
      CREATE INDEX IF NOT EXISTS console_incidents_service_page ON ${s}.console_incidents (service, opened_at DESC, incident_id DESC);
      CREATE TABLE IF NOT EXISTS ${s}.console_incident_timeline (
        incident_id uuid NOT NULL,
        version integer NOT NULL,
        type text NOT NULL,
        recorded_at timestamptz NOT NULL,
        summary text NOT NULL,
        actor text,
        PRIMARY KEY (incident_id, version)
      );
      CREATE TABLE IF NOT EXISTS ${s}.console_rollouts (
        incident_id uuid NOT NULL,
        patch_id uuid NOT NULL,
        service text NOT NULL,
        release text NOT NULL,
        status text NOT NULL,
        stages jsonb NOT NULL,
        stage double precision,
        started_at timestamptz,
        ended_at timestamptz,
        cause text,
        reason text,
        evidence jsonb NOT NULL,
        PRIMARY KEY (incident_id, patch_id)
      );
      CREATE INDEX IF NOT EXISTS console_rollouts_started ON ${s}.console_rollouts (started_at DESC);
      CREATE TABLE IF NOT EXISTS ${s}.console_costs (
        event_id uuid PRIMARY KEY,
        incident_id uuid NOT NULL,
        service text,
        model text NOT NULL,
        tier text NOT NULL,
        step text NOT NULL,
        prompt_tokens bigint NOT NULL,
        completion_tokens bigint NOT NULL,
        cost_usd double precision NOT NULL,
        recorded_at timestamptz NOT NULL
      );
      CREATE INDEX IF NOT EXISTS console_costs_recorded ON ${s}.console_costs (recorded_at);
      CREATE TABLE IF NOT EXISTS ${s}.console_services (
        name text PRIMARY KEY,
        status text NOT NULL,
        repository text,
        default_branch text,
        language text,
        deploy_adapter text,
        auto_deploy boolean,
        policy jsonb,
        active_keys integer NOT NULL,
        deregistration_reason text,
        updated_at timestamptz NOT NULL
      );
      CREATE TABLE IF NOT EXISTS ${s}.console_patterns (
        pattern_id uuid PRIMARY KEY,
        error_class text NOT NULL,
        source text NOT NULL,
        incident_id uuid,
        estimate double precision NOT NULL,
        uses integer NOT NULL,
        successes integer NOT NULL,
        failures integer NOT NULL,
        retired boolean NOT NULL,
        retired_reason text,
        template jsonb NOT NULL,
        updated_at timestamptz NOT NULL
      );
      CREATE TABLE IF NOT EXISTS ${s}.console_tokens (
        token_id uuid PRIMARY KEY,
        name text NOT NULL,
        role text NOT NULL,
        hash text NOT NULL UNIQUE,
        created_at timestamptz,
        revoked_at timestamptz
      );
    `);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}
