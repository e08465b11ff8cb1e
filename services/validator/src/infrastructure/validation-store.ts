import { createHash } from 'node:crypto';
import type { Pool, PoolClient } from 'pg';
import type { RunSummary } from '../domain/verdict';

/**
 * The validator's own tables, in the event store's schema:
 *
 * - `validation_logs (patch_id, seq, step, command, exit_code, output, recorded_at)`: the full
 *   output of every step of a patch's latest validation attempt (what `antibody logs <patchId>`
 *   prints);
 * - `validation_baselines (key, commit, command, summary, recorded_at)`: baseline test runs
 *   cached per (repository, commit, build and test command, dependency key).
 *
 * These are caches and evidence stores beside the event log, not sources of truth: the verdict
 * events are.
 */
export class ValidationStore {
  private readonly s: string;

  constructor(
    private readonly pool: Pool,
    schema: string,
  ) {
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new TypeError(`bad schema name "${schema}"`);
    this.s = `"${schema}"`;
  }

  /** Creates the tables if missing; safe to run from several instances at once. */
  async migrate(): Promise<void> {
    const client = await this.pool.connect();
    try {
      await client.query('SELECT pg_advisory_lock(hashtext($1))', [`${this.s}.validator-migrate`]);
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${this.s}`);
      await client.query(`CREATE TABLE IF NOT EXISTS ${this.s}.validation_logs (
        patch_id uuid NOT NULL,
        seq integer NOT NULL,
        step text NOT NULL,
        command text NOT NULL,
        exit_code integer,
        output text NOT NULL,
        recorded_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (patch_id, seq))`);
      await client.query(`CREATE TABLE IF NOT EXISTS ${this.s}.validation_baselines (
        key text PRIMARY KEY,
        commit text NOT NULL,
        command text NOT NULL,
        summary jsonb NOT NULL,
        recorded_at timestamptz NOT NULL DEFAULT now())`);
    } finally {
      await client.query('SELECT pg_advisory_unlock(hashtext($1))', [`${this.s}.validator-migrate`]).catch(() => undefined);
      client.release();
    }
  }

  /** The cache key of a baseline run. */
  static baselineKey(parts: { repository: string; commit: string; build?: string; test: string; dependencies?: string }): string {
    return createHash('sha256').update(JSON.stringify([parts.repository, parts.commit, parts.build ?? '', parts.test, parts.dependencies ?? ''])).digest('hex');
  }

  async baseline(key: string): Promise<RunSummary | undefined> {
    const { rows } = await this.pool.query<{ summary: RunSummary }>(`SELECT summary FROM ${this.s}.validation_baselines WHERE key = $1`, [key]);
    return rows[0]?.summary;
  }

  async saveBaseline(key: string, commit: string, command: string, summary: RunSummary): Promise<void> {
    await this.pool.query(`INSERT INTO ${this.s}.validation_baselines (key, commit, command, summary) VALUES ($1, $2, $3, $4) ON CONFLICT (key) DO NOTHING`, [key, commit, command, JSON.stringify(summary)]);
  }

  /** Forgets an earlier, interrupted attempt's logs (a new attempt rewrites them). */
  async clearLogs(patchId: string): Promise<void> {
    await this.pool.query(`DELETE FROM ${this.s}.validation_logs WHERE patch_id = $1`, [patchId]);
  }

  async appendLog(patchId: string, seq: number, entry: { step: string; command: string; exitCode: number | null; output: string }): Promise<void> {
    await this.pool.query(
      `INSERT INTO ${this.s}.validation_logs (patch_id, seq, step, command, exit_code, output) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (patch_id, seq) DO UPDATE SET step = EXCLUDED.step, command = EXCLUDED.command, exit_code = EXCLUDED.exit_code, output = EXCLUDED.output, recorded_at = now()`,
      // eslint-disable-next-line no-control-regex -- Postgres text cannot hold NUL bytes; test output can
      [patchId, seq, entry.step, entry.command, entry.exitCode, entry.output.replace(/\u0000/g, '')],
    );
  }

  /**
   * Claims a patch's validation for this process: a session advisory lock on a dedicated
   * connection, held until `release`. Postgres drops it when the process dies (even by SIGKILL),
   * which is how another instance takes the work over. Undefined when another live instance holds it.
   */
  async claim(patchId: string): Promise<{ release(): Promise<void> } | undefined> {
    const client: PoolClient = await this.pool.connect();
    try {
      const { rows } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock(hashtext($1)) AS ok', [`antibody-validator:${patchId}`]);
      if (!rows[0]?.ok) {
        client.release();
        return undefined;
      }
    } catch (error) {
      client.release();
      throw error;
    }
    return {
      release: async () => {
        try {
          await client.query('SELECT pg_advisory_unlock(hashtext($1))', [`antibody-validator:${patchId}`]);
          client.release();
        } catch (error) {
          client.release(error instanceof Error ? error : true);
        }
      },
    };
  }
}
