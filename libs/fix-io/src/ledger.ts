import type { EventStore, Subscription } from '@antibody/event-store';
import { quoteSchema, subscribe } from '@antibody/event-store';
import type { Pool, PoolClient } from 'pg';
import { incidentIdSchema, patternIdSchema, type RecordedEvent } from '@antibody/contracts';
import type { PatternState } from '@antibody/domain';

/** The ledger's subscription name: one instance processes, the others (any service running it) stand by. */
// The name predates the move to fix-io; it stays, so existing checkpoints and tables carry on.
export const LEDGER_SUBSCRIPTION = 'fix-kit-ledger';

/**
 * A read model of what diagnosis and patching need across incidents, rebuilt from events:
 * the pattern library (PatternLearned/OutcomeRecorded/Retired) and LLM spend per service, day
 * and month (LlmCallMetered joined with the IncidentOpened that names the service).
 */
export interface FixLedger {
  readonly subscription: Subscription;
  /** Waits (up to `timeoutMs`, default 30 s: the projection falls behind on a busy machine) until every event readable now is in the ledger; throws after it. */
  catchUp(timeoutMs?: number): Promise<void>;
  /** Every pattern, best estimate first; retired ones included (check `retired`). */
  patterns(): Promise<PatternState[]>;
  /** USD spent by `service` on `day` (YYYY-MM-DD, UTC) and in its month. */
  serviceSpend(service: string, day: string): Promise<{ day: number; month: number }>;
  stop(): Promise<void>;
}

/** Creates the ledger tables (idempotent; safe when the analyzer and the patcher start together). */
export async function migrateFixLedger(pool: Pool, schema: string): Promise<void> {
  const s = quoteSchema(schema);
  // One multi-statement query runs as one transaction: the advisory lock serialises concurrent
  // starts, since two concurrent CREATE TABLE IF NOT EXISTS can both try to create the row type.
  await pool.query(`
    SELECT pg_advisory_xact_lock(hashtext('antibody-fixkit-migrate:${schema}'));
    CREATE TABLE IF NOT EXISTS ${s}.fixkit_patterns (
      pattern_id uuid PRIMARY KEY, error_class text NOT NULL, template jsonb NOT NULL, source text NOT NULL,
      incident_id text, estimate double precision NOT NULL, uses integer NOT NULL, successes integer NOT NULL,
      failures integer NOT NULL, retired boolean NOT NULL, retired_reason text);
    CREATE TABLE IF NOT EXISTS ${s}.fixkit_incident_services (stream_id text PRIMARY KEY, service text NOT NULL);
    CREATE TABLE IF NOT EXISTS ${s}.fixkit_llm_spend (
      event_id uuid PRIMARY KEY, stream_id text NOT NULL, service text, day date NOT NULL, month text NOT NULL, cost_usd double precision NOT NULL);
    CREATE INDEX IF NOT EXISTS fixkit_llm_spend_service_day ON ${s}.fixkit_llm_spend (service, day);`);
}

/** Applies a batch of events to the ledger tables inside the subscription's transaction. Idempotent per event. */
async function apply(client: PoolClient, s: string, events: readonly RecordedEvent[]): Promise<void> {
  for (const e of events) {
    switch (e.type) {
      case 'IncidentOpened': {
        const d = e.data;
        await client.query(`INSERT INTO ${s}.fixkit_incident_services (stream_id, service) VALUES ($1, $2) ON CONFLICT DO NOTHING`, [e.streamId, d.service]);
        break;
      }
      case 'LlmCallMetered': {
        const d = e.data;
        const day = e.recordedAt.slice(0, 10);
        await client.query(
          `INSERT INTO ${s}.fixkit_llm_spend (event_id, stream_id, service, day, month, cost_usd)
           VALUES ($1, $2, (SELECT service FROM ${s}.fixkit_incident_services WHERE stream_id = $2), $3, $4, $5) ON CONFLICT DO NOTHING`,
          [e.eventId, e.streamId, day, day.slice(0, 7), d.costUsd],
        );
        break;
      }
      case 'PatternLearned': {
        const d = e.data;
        await client.query(
          `INSERT INTO ${s}.fixkit_patterns (pattern_id, error_class, template, source, incident_id, estimate, uses, successes, failures, retired)
           VALUES ($1, $2, $3, $4, $5, 1, 0, 0, 0, false) ON CONFLICT DO NOTHING`,
          [d.patternId, d.errorClass, JSON.stringify(d.template), d.source, d.incidentId ?? null],
        );
        break;
      }
      case 'PatternOutcomeRecorded': {
        const d = e.data;
        await client.query(
          `UPDATE ${s}.fixkit_patterns SET uses = uses + 1, successes = successes + $2, failures = failures + $3, estimate = $4 WHERE pattern_id = $1`,
          [d.patternId, d.success ? 1 : 0, d.success ? 0 : 1, d.successEstimate],
        );
        break;
      }
      case 'PatternRetired': {
        const d = e.data;
        await client.query(`UPDATE ${s}.fixkit_patterns SET retired = true, retired_reason = $2 WHERE pattern_id = $1`, [d.patternId, d.reason]);
        break;
      }
      default:
        break;
    }
  }
}

/**
 * Starts the ledger projection over `store` (tables created first). Its checkpoint commits with
 * its rows, so a crash never double-counts spend or outcomes.
 */
export async function startFixLedger(store: EventStore, options: { pollIntervalMs?: number; onError?: (error: unknown) => void } = {}): Promise<FixLedger> {
  const s = quoteSchema(store.schema);
  await migrateFixLedger(store.pool, store.schema);
  const subscription = subscribe(store, LEDGER_SUBSCRIPTION, (events, client) => apply(client, s, events), {
    types: ['IncidentOpened', 'LlmCallMetered', 'PatternLearned', 'PatternOutcomeRecorded', 'PatternRetired'],
    pollIntervalMs: options.pollIntervalMs ?? 250,
    onError: options.onError,
  });
  return {
    subscription,
    catchUp: (timeoutMs = 30_000) => subscription.caughtUp({ timeoutMs }),
    async patterns() {
      const { rows } = await store.pool.query(`SELECT * FROM ${s}.fixkit_patterns ORDER BY estimate DESC, pattern_id`);
      return rows.map((r: Record<string, unknown>) => ({
        patternId: patternIdSchema.parse(r['pattern_id']),
        errorClass: String(r['error_class']),
        template: r['template'] as PatternState['template'],
        // Written from a PatternLearned the store validated.
        source: r['source'] as PatternState['source'],
        ...(r['incident_id'] ? { incidentId: incidentIdSchema.parse(r['incident_id']) } : {}),
        estimate: Number(r['estimate']),
        uses: Number(r['uses']),
        successes: Number(r['successes']),
        failures: Number(r['failures']),
        retired: Boolean(r['retired']),
        ...(r['retired_reason'] ? { retiredReason: String(r['retired_reason']) } : {}),
      }));
    },
    async serviceSpend(service, day) {
      const { rows } = await store.pool.query(
        `SELECT coalesce(sum(cost_usd) FILTER (WHERE day = $2::date), 0) AS day, coalesce(sum(cost_usd), 0) AS month
           FROM ${s}.fixkit_llm_spend WHERE service = $1 AND month = $3`,
        [service, day, day.slice(0, 7)],
      );
      return { day: Number(rows[0]?.day ?? 0), month: Number(rows[0]?.month ?? 0) };
    },
    stop: () => subscription.stop(),
  };
}
