import { categoryOf, type Fold, type RecordedEvent } from '@antibody/contracts';
import { evolvePattern, incidentFold, operatorTokenFold, serviceFold, type IncidentState, type OperatorTokenState, type PatternState, type ServiceState } from '@antibody/domain';
import { quoteSchema, START, subscribe, type EventStore, type Subscription } from '@antibody/event-store';
import type { PoolClient } from 'pg';
import { incidentDetail, incidentRow, rolloutRow, timelineEntry, type RolloutRow, type TimelineEntry } from '../domain/incident-view';
import { READ_MODEL_TABLES } from './schema';

/** Checkpoint names of the console's two subscriptions. */
export const READ_MODELS_SUBSCRIPTION = 'console-read-models';
export const TOKENS_SUBSCRIPTION = 'console-tokens';

const TOKEN_TYPES = ['OperatorTokenCreated', 'OperatorTokenRevoked'] as const;

const patternFold: Fold<PatternState | undefined> = {
  initialState: () => undefined,
  evolve: (state, event) =>
    event.type === 'PatternLearned' || event.type === 'PatternOutcomeRecorded' || event.type === 'PatternRetired' ? evolvePattern(state, event) : state,
};

/**
 * The folded state of recently projected streams, so a batch folds each event once instead of
 * reading its stream again. An entry is used only when it stands exactly one version before the
 * event (else the stream is read up to there): a batch rolled back, or another instance having
 * led the subscription meanwhile, can make an entry stale but never wrong.
 */
class FoldCache<S> {
  private readonly entries = new Map<string, { version: number; state: S }>();

  constructor(
    private readonly fold: Fold<S>,
    private readonly max: number,
  ) {}

  async before(store: EventStore, event: RecordedEvent): Promise<S> {
    const hit = this.entries.get(event.streamId);
    if (hit && hit.version === event.streamVersion - 1) return hit.state;
    if (event.streamVersion === 0) return this.fold.initialState();
    const { events } = await store.readStream(event.streamId, { toVersion: event.streamVersion - 1 });
    let state = this.fold.initialState();
    for (const e of events) state = this.fold.evolve(state, e);
    return state;
  }

  set(streamId: string, version: number, state: S): void {
    this.entries.delete(streamId);
    this.entries.set(streamId, { version, state });
    if (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value as string);
  }

  clear(): void {
    this.entries.clear();
  }
}

/** What one batch changed, written once per row at its end. */
interface BatchChanges {
  readonly incidents: Map<string, IncidentState>;
  readonly timeline: Array<TimelineEntry & { incidentId: string }>;
  readonly rollouts: Map<string, RolloutRow>;
  readonly costs: Array<Record<string, unknown>>;
  readonly services: Map<string, { state: ServiceState; at: string }>;
  readonly patterns: Map<string, { state: PatternState; at: string }>;
  readonly tokens: Map<string, OperatorTokenState>;
}

/** Options of {@link ConsoleReadModels}. */
export interface ReadModelOptions {
  /** Events per transaction (default 2,000). */
  readonly batchSize?: number;
  /** Folded streams kept between batches (default 5,000). */
  readonly cacheSize?: number;
  readonly pollIntervalMs?: number;
  readonly onError?: (error: unknown) => void;
}

/**
 * The console's read models, projected from the global log from position 0: every row is derived
 * from the shared folds of `@antibody/domain` (incident, service, pattern, token) and written in
 * the same transaction as the subscription's checkpoint. Deterministic: a rebuild gives the same
 * rows. Two subscriptions: `console-read-models` (everything but tokens) and `console-tokens`
 * (operator tokens only, so a new token works at once even while the rest is being rebuilt).
 */
export class ConsoleReadModels {
  private readonly s: string;
  private readonly incidents: FoldCache<IncidentState>;
  private readonly services: FoldCache<ServiceState>;
  private readonly patterns: FoldCache<PatternState | undefined>;
  private readonly tokens: FoldCache<OperatorTokenState>;
  private subscriptions: Subscription[] = [];

  constructor(
    private readonly store: EventStore,
    private readonly options: ReadModelOptions = {},
  ) {
    this.s = quoteSchema(store.schema);
    const max = options.cacheSize ?? 5_000;
    this.incidents = new FoldCache(incidentFold, max);
    this.services = new FoldCache(serviceFold, 1_000);
    this.patterns = new FoldCache(patternFold, 1_000);
    this.tokens = new FoldCache(operatorTokenFold, 1_000);
  }

  /** Starts both subscriptions (each from its checkpoint, position 0 the first time). */
  start(): this {
    const onError = (error: unknown) => {
      this.clearCaches();
      this.options.onError?.(error);
    };
    const common = { pollIntervalMs: this.options.pollIntervalMs ?? 200, onError };
    this.subscriptions = [
      subscribe(this.store, READ_MODELS_SUBSCRIPTION, (events, client) => this.project(events, client, false), { ...common, batchSize: this.options.batchSize ?? 2_000 }),
      subscribe(this.store, TOKENS_SUBSCRIPTION, (events, client) => this.project(events, client, true), { ...common, batchSize: 500, types: TOKEN_TYPES }),
    ];
    return this;
  }

  /** Resolves once both subscriptions reached what is readable now (or `timeoutMs`, default 30 s, passed: rejects). */
  async caughtUp(timeoutMs = 30_000): Promise<void> {
    await Promise.all(this.subscriptions.map((s) => s.caughtUp({ timeoutMs })));
  }

  async stop(): Promise<void> {
    await Promise.all(this.subscriptions.map((s) => s.stop()));
    this.subscriptions = [];
  }

  /**
   * Empties the read models (not the tokens) and moves their checkpoint back to position 0 in one
   * transaction; the running subscription then rebuilds them from the whole log.
   */
  async rebuild(): Promise<void> {
    const client = await this.store.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(`TRUNCATE ${READ_MODEL_TABLES.map((t) => `${this.s}.${t}`).join(', ')}`);
      await client.query(
        `INSERT INTO ${this.s}.checkpoints (name, transaction_id, global_position) VALUES ($1, $2, $3)
         ON CONFLICT (name) DO UPDATE SET transaction_id = EXCLUDED.transaction_id, global_position = EXCLUDED.global_position, updated_at = now()`,
        [READ_MODELS_SUBSCRIPTION, START.transactionId, START.position],
      );
      await client.query('COMMIT');
      this.clearCaches();
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  private clearCaches(): void {
    this.incidents.clear();
    this.services.clear();
    this.patterns.clear();
    this.tokens.clear();
  }

  /** One batch: fold each event into its stream's state, then write every changed row once. */
  private async project(events: readonly RecordedEvent[], client: PoolClient, tokens: boolean): Promise<void> {
    const changes: BatchChanges = { incidents: new Map(), timeline: [], rollouts: new Map(), costs: [], services: new Map(), patterns: new Map(), tokens: new Map() };
    for (const event of events) {
      const category = categoryOf(event.streamId);
      if ((category === 'token') !== tokens) continue;
      switch (category) {
        case 'incident':
          await this.incident(event, changes);
          break;
        case 'service': {
          const state = serviceFold.evolve(await this.services.before(this.store, event), event);
          this.services.set(event.streamId, event.streamVersion, state);
          changes.services.set(event.streamId.slice('service-'.length), { state, at: event.recordedAt });
          break;
        }
        case 'pattern': {
          const state = patternFold.evolve(await this.patterns.before(this.store, event), event);
          this.patterns.set(event.streamId, event.streamVersion, state);
          if (state) changes.patterns.set(state.patternId, { state, at: event.recordedAt });
          break;
        }
        case 'token': {
          const state = operatorTokenFold.evolve(await this.tokens.before(this.store, event), event);
          this.tokens.set(event.streamId, event.streamVersion, state);
          if (state.token) changes.tokens.set(state.token.tokenId, state);
          break;
        }
        default:
          break;
      }
    }
    await this.write(changes, client);
  }

  private async incident(event: RecordedEvent, changes: BatchChanges): Promise<void> {
    const state = incidentFold.evolve(await this.incidents.before(this.store, event), event);
    this.incidents.set(event.streamId, event.streamVersion, state);
    const incidentId = event.streamId.slice('incident-'.length);
    changes.incidents.set(incidentId, state);
    const line = timelineEntry(event);
    if (line) changes.timeline.push({ ...line, incidentId });
    if (event.type === 'LlmCallMetered') {
      const d = event.data;
      changes.costs.push({
        event_id: event.eventId,
        incident_id: incidentId,
        service: state.opened?.service ?? null,
        model: d.model,
        tier: d.tier,
        step: d.step,
        prompt_tokens: d.promptTokens,
        completion_tokens: d.completionTokens,
        cost_usd: d.costUsd,
        recorded_at: event.recordedAt,
      });
    }
    // Each change of a rollout is kept per (incident, patch): a later rollout of the same incident
    // in the same batch does not hide how the earlier one ended.
    if (event.type === 'RolloutStarted' || event.type === 'StageAdvanced' || event.type === 'RolledBack' || event.type === 'RolloutCompleted' || event.type === 'DecisionRecorded') {
      const row = rolloutRow(state);
      if (row) changes.rollouts.set(`${row.incidentId}:${row.patchId}`, row);
    }
  }

  private async write(changes: BatchChanges, client: PoolClient): Promise<void> {
    const s = this.s;
    const incidents = [...changes.incidents.values()].flatMap((state) => {
      const row = incidentRow(state);
      return row ? [{ ...row, detail: incidentDetail(state) }] : [];
    });
    if (incidents.length > 0) {
      await client.query(
        `INSERT INTO ${s}.console_incidents AS t (incident_id, service, title, culprit, fingerprint, release, environment, status, round, samples, occurrences,
           first_seen, last_seen, chosen_patch_id, pull_request_url, cost_usd, trace_id, opened_at, diagnosed_at, proposed_at, verdict_at, committed_at,
           rollout_started_at, rollout_ended_at, decided_at, resolved_at, escalated_at, closed_at, updated_at, version, detail)
         SELECT "incidentId", service, title, culprit, fingerprint, release, environment, status, round, samples, occurrences,
           "firstSeen", "lastSeen", "chosenPatchId", "pullRequestUrl", "costUsd", "traceId", "openedAt", "diagnosedAt", "proposedAt", "verdictAt", "committedAt",
           "rolloutStartedAt", "rolloutEndedAt", "decidedAt", "resolvedAt", "escalatedAt", "closedAt", "updatedAt", version, detail
         FROM jsonb_to_recordset($1::jsonb) AS x("incidentId" uuid, service text, title text, culprit text, fingerprint text, release text, environment text,
           status text, round int, samples int, occurrences bigint, "firstSeen" timestamptz, "lastSeen" timestamptz, "chosenPatchId" uuid, "pullRequestUrl" text,
           "costUsd" float8, "traceId" text, "openedAt" timestamptz, "diagnosedAt" timestamptz, "proposedAt" timestamptz, "verdictAt" timestamptz,
           "committedAt" timestamptz, "rolloutStartedAt" timestamptz, "rolloutEndedAt" timestamptz, "decidedAt" timestamptz, "resolvedAt" timestamptz,
           "escalatedAt" timestamptz, "closedAt" timestamptz, "updatedAt" timestamptz, version int, detail jsonb)
         ON CONFLICT (incident_id) DO UPDATE SET service = EXCLUDED.service, title = EXCLUDED.title, culprit = EXCLUDED.culprit, fingerprint = EXCLUDED.fingerprint,
           release = EXCLUDED.release, environment = EXCLUDED.environment, status = EXCLUDED.status, round = EXCLUDED.round, samples = EXCLUDED.samples,
           occurrences = EXCLUDED.occurrences, first_seen = EXCLUDED.first_seen, last_seen = EXCLUDED.last_seen, chosen_patch_id = EXCLUDED.chosen_patch_id,
           pull_request_url = EXCLUDED.pull_request_url, cost_usd = EXCLUDED.cost_usd, trace_id = EXCLUDED.trace_id, opened_at = EXCLUDED.opened_at,
           diagnosed_at = EXCLUDED.diagnosed_at, proposed_at = EXCLUDED.proposed_at, verdict_at = EXCLUDED.verdict_at, committed_at = EXCLUDED.committed_at,
           rollout_started_at = EXCLUDED.rollout_started_at, rollout_ended_at = EXCLUDED.rollout_ended_at, decided_at = EXCLUDED.decided_at,
           resolved_at = EXCLUDED.resolved_at, escalated_at = EXCLUDED.escalated_at, closed_at = EXCLUDED.closed_at, updated_at = EXCLUDED.updated_at,
           version = EXCLUDED.version, detail = EXCLUDED.detail`,
        [JSON.stringify(incidents)],
      );
    }
    if (changes.timeline.length > 0) {
      await client.query(
        `INSERT INTO ${s}.console_incident_timeline (incident_id, version, type, recorded_at, summary, actor)
         SELECT "incidentId", version, type, "recordedAt", summary, actor
         FROM jsonb_to_recordset($1::jsonb) AS x("incidentId" uuid, version int, type text, "recordedAt" timestamptz, summary text, actor text)
         ON CONFLICT (incident_id, version) DO NOTHING`,
        [JSON.stringify(changes.timeline)],
      );
    }
    if (changes.rollouts.size > 0) {
      await client.query(
        `INSERT INTO ${s}.console_rollouts (incident_id, patch_id, service, release, status, stages, stage, started_at, ended_at, cause, reason, evidence)
         SELECT "incidentId", "patchId", service, release, status, stages, stage, "startedAt", "endedAt", cause, reason, evidence
         FROM jsonb_to_recordset($1::jsonb) AS x("incidentId" uuid, "patchId" uuid, service text, release text, status text, stages jsonb, stage float8,
           "startedAt" timestamptz, "endedAt" timestamptz, cause text, reason text, evidence jsonb)
         ON CONFLICT (incident_id, patch_id) DO UPDATE SET service = EXCLUDED.service, release = EXCLUDED.release, status = EXCLUDED.status, stages = EXCLUDED.stages,
           stage = EXCLUDED.stage, started_at = EXCLUDED.started_at, ended_at = EXCLUDED.ended_at, cause = EXCLUDED.cause, reason = EXCLUDED.reason, evidence = EXCLUDED.evidence`,
        [JSON.stringify([...changes.rollouts.values()])],
      );
    }
    if (changes.costs.length > 0) {
      await client.query(
        `INSERT INTO ${s}.console_costs (event_id, incident_id, service, model, tier, step, prompt_tokens, completion_tokens, cost_usd, recorded_at)
         SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(event_id uuid, incident_id uuid, service text, model text, tier text, step text,
           prompt_tokens bigint, completion_tokens bigint, cost_usd float8, recorded_at timestamptz)
         ON CONFLICT (event_id) DO NOTHING`,
        [JSON.stringify(changes.costs)],
      );
    }
    for (const [name, { state, at }] of changes.services) {
      const r = state.registration;
      await client.query(
        `INSERT INTO ${s}.console_services (name, status, repository, default_branch, language, deploy_adapter, auto_deploy, policy, active_keys, deregistration_reason, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
         ON CONFLICT (name) DO UPDATE SET status = EXCLUDED.status, repository = EXCLUDED.repository, default_branch = EXCLUDED.default_branch, language = EXCLUDED.language,
           deploy_adapter = EXCLUDED.deploy_adapter, auto_deploy = EXCLUDED.auto_deploy, policy = EXCLUDED.policy, active_keys = EXCLUDED.active_keys,
           deregistration_reason = EXCLUDED.deregistration_reason, updated_at = EXCLUDED.updated_at`,
        [
          name,
          state.status,
          r?.repository.url ?? null,
          r?.repository.defaultBranch ?? null,
          r?.language ?? null,
          r?.deploy.adapter ?? null,
          r?.policy.autoDeploy ?? null,
          r ? JSON.stringify(r.policy) : null,
          state.keys.filter((k) => k.revokedAt === undefined).length,
          state.deregistration?.reason ?? null,
          at,
        ],
      );
    }
    for (const { state, at } of changes.patterns.values()) {
      await client.query(
        `INSERT INTO ${s}.console_patterns (pattern_id, error_class, source, incident_id, estimate, uses, successes, failures, retired, retired_reason, template, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
         ON CONFLICT (pattern_id) DO UPDATE SET error_class = EXCLUDED.error_class, source = EXCLUDED.source, incident_id = EXCLUDED.incident_id, estimate = EXCLUDED.estimate,
           uses = EXCLUDED.uses, successes = EXCLUDED.successes, failures = EXCLUDED.failures, retired = EXCLUDED.retired, retired_reason = EXCLUDED.retired_reason,
           template = EXCLUDED.template, updated_at = EXCLUDED.updated_at`,
        [state.patternId, state.errorClass, state.source, state.incidentId ?? null, state.estimate, state.uses, state.successes, state.failures, state.retired, state.retiredReason ?? null, JSON.stringify(state.template), at],
      );
    }
    for (const state of changes.tokens.values()) {
      const token = state.token;
      if (!token) continue;
      await client.query(
        `INSERT INTO ${s}.console_tokens (token_id, name, role, hash, created_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (token_id) DO UPDATE SET name = EXCLUDED.name, role = EXCLUDED.role, hash = EXCLUDED.hash, created_at = EXCLUDED.created_at, revoked_at = EXCLUDED.revoked_at`,
        [token.tokenId, token.name, token.role, token.hash, state.createdAt ?? null, state.revokedAt ?? null],
      );
    }
  }
}
