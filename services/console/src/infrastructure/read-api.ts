import { quoteSchema } from '@antibody/event-store';
import type { Pool } from 'pg';
import { encodeCursor, type IncidentListQuery } from '../domain/query';

type Row = Record<string, unknown>;

const iso = (value: unknown): string | null => (value instanceof Date ? value.toISOString() : value === null || value === undefined ? null : String(value));

/** The columns of the list, as the API names them. */
const INCIDENT_COLUMNS: ReadonlyArray<readonly [string, string, 'text' | 'number' | 'time']> = [
  ['incident_id', 'incidentId', 'text'],
  ['service', 'service', 'text'],
  ['title', 'title', 'text'],
  ['culprit', 'culprit', 'text'],
  ['fingerprint', 'fingerprint', 'text'],
  ['release', 'release', 'text'],
  ['environment', 'environment', 'text'],
  ['status', 'status', 'text'],
  ['round', 'round', 'number'],
  ['samples', 'samples', 'number'],
  ['occurrences', 'occurrences', 'number'],
  ['first_seen', 'firstSeen', 'time'],
  ['last_seen', 'lastSeen', 'time'],
  ['chosen_patch_id', 'chosenPatchId', 'text'],
  ['pull_request_url', 'pullRequestUrl', 'text'],
  ['cost_usd', 'costUsd', 'number'],
  ['trace_id', 'traceId', 'text'],
  ['opened_at', 'openedAt', 'time'],
  ['diagnosed_at', 'diagnosedAt', 'time'],
  ['proposed_at', 'proposedAt', 'time'],
  ['verdict_at', 'verdictAt', 'time'],
  ['committed_at', 'committedAt', 'time'],
  ['rollout_started_at', 'rolloutStartedAt', 'time'],
  ['rollout_ended_at', 'rolloutEndedAt', 'time'],
  ['decided_at', 'decidedAt', 'time'],
  ['resolved_at', 'resolvedAt', 'time'],
  ['escalated_at', 'escalatedAt', 'time'],
  ['closed_at', 'closedAt', 'time'],
  ['updated_at', 'updatedAt', 'time'],
  ['version', 'version', 'number'],
];

/** The SELECT list of the incidents list; exported so the benchmark's plain SQL reads the same columns. */
export const INCIDENT_SELECT = INCIDENT_COLUMNS.map(([column]) => column).join(', ');

function incidentOut(row: Row): Row {
  const out: Row = {};
  for (const [column, name, kind] of INCIDENT_COLUMNS) {
    const value = row[column];
    out[name] = kind === 'time' ? iso(value) : kind === 'number' && value !== null ? Number(value) : (value ?? null);
  }
  return out;
}

/** Reads of the console's read models for the HTTP API. Never writes. */
export class ReadApi {
  private readonly s: string;

  constructor(
    private readonly pool: Pool,
    schema: string,
  ) {
    this.s = quoteSchema(schema);
  }

  /** A page of incidents, newest first (by when they were opened), and the cursor of the next page (null on the last). */
  async incidents(query: IncidentListQuery): Promise<{ items: Row[]; next: string | null }> {
    const where: string[] = [];
    const params: unknown[] = [];
    const param = (value: unknown) => `$${params.push(value)}`;
    if (query.statuses) where.push(`status = ANY(${param(query.statuses)}::text[])`);
    if (query.service !== undefined) where.push(`service = ${param(query.service)}`);
    if (query.since !== undefined) where.push(`last_seen >= ${param(query.since)}`);
    if (query.cursor) where.push(`(opened_at, incident_id) < (${param(query.cursor.openedAt)}::timestamptz, ${param(query.cursor.incidentId)}::uuid)`);
    const { rows } = await this.pool.query<Row>(
      `SELECT ${INCIDENT_SELECT} FROM ${this.s}.console_incidents ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY opened_at DESC, incident_id DESC LIMIT ${param(query.limit + 1)}`,
      params,
    );
    const items = rows.slice(0, query.limit).map(incidentOut);
    const last = items[items.length - 1];
    const next = rows.length > query.limit && last ? encodeCursor({ openedAt: String(last['openedAt']), incidentId: String(last['incidentId']) }) : null;
    return { items, next };
  }

  /** One incident: its row, its detail and its timeline; undefined when there is no such incident. */
  async incident(incidentId: string): Promise<Row | undefined> {
    const [found, timeline] = await Promise.all([
      this.pool.query<Row>(`SELECT ${INCIDENT_SELECT}, detail FROM ${this.s}.console_incidents WHERE incident_id = $1`, [incidentId]),
      this.pool.query<Row>(`SELECT version, type, recorded_at, summary, actor FROM ${this.s}.console_incident_timeline WHERE incident_id = $1 ORDER BY version`, [incidentId]),
    ]);
    const row = found.rows[0];
    if (!row) return undefined;
    return {
      ...incidentOut(row),
      ...(row['detail'] as Row),
      timeline: timeline.rows.map((t) => ({ version: t['version'], type: t['type'], recordedAt: iso(t['recorded_at']), summary: t['summary'], actor: t['actor'] })),
    };
  }

  async services(): Promise<Row[]> {
    const { rows } = await this.pool.query<Row>(`SELECT * FROM ${this.s}.console_services ORDER BY name`);
    return rows.map((r) => ({
      name: r['name'],
      status: r['status'],
      repository: r['repository'],
      defaultBranch: r['default_branch'],
      language: r['language'],
      deployAdapter: r['deploy_adapter'],
      autoDeploy: r['auto_deploy'],
      policy: r['policy'],
      activeKeys: r['active_keys'],
      deregistrationReason: r['deregistration_reason'],
      updatedAt: iso(r['updated_at']),
    }));
  }

  async patterns(filter: { limit: number }): Promise<Row[]> {
    const { rows } = await this.pool.query<Row>(`SELECT * FROM ${this.s}.console_patterns ORDER BY retired, estimate DESC, pattern_id LIMIT $1`, [filter.limit]);
    return rows.map((r) => ({
      patternId: r['pattern_id'],
      errorClass: r['error_class'],
      source: r['source'],
      incidentId: r['incident_id'],
      estimate: r['estimate'],
      uses: r['uses'],
      successes: r['successes'],
      failures: r['failures'],
      retired: r['retired'],
      retiredReason: r['retired_reason'],
      template: r['template'],
      updatedAt: iso(r['updated_at']),
    }));
  }

  /** LLM spend per day, service, model and step, with totals. */
  async costs(filter: { service?: string; since?: string }): Promise<{ totalUsd: number; calls: number; rows: Row[] }> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.service !== undefined) where.push(`service = $${params.push(filter.service)}`);
    if (filter.since !== undefined) where.push(`recorded_at >= $${params.push(filter.since)}`);
    const { rows } = await this.pool.query<Row>(
      `SELECT to_char(date_trunc('day', recorded_at AT TIME ZONE 'UTC'), 'YYYY-MM-DD') AS day, service, model, step,
              count(*)::int AS calls, sum(prompt_tokens)::bigint AS prompt_tokens, sum(completion_tokens)::bigint AS completion_tokens, sum(cost_usd) AS cost_usd,
              count(DISTINCT incident_id)::int AS incidents
         FROM ${this.s}.console_costs ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
        GROUP BY 1, 2, 3, 4 ORDER BY 1 DESC, 2, 3, 4`,
      params,
    );
    const out = rows.map((r) => ({
      day: r['day'],
      service: r['service'],
      model: r['model'],
      step: r['step'],
      calls: r['calls'],
      incidents: r['incidents'],
      promptTokens: Number(r['prompt_tokens']),
      completionTokens: Number(r['completion_tokens']),
      costUsd: Number(r['cost_usd']),
    }));
    return { totalUsd: out.reduce((sum, r) => sum + r.costUsd, 0), calls: out.reduce((sum, r) => sum + Number(r.calls), 0), rows: out };
  }

  async rollouts(filter: { service?: string; since?: string; status?: string; limit: number }): Promise<Row[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.service !== undefined) where.push(`service = $${params.push(filter.service)}`);
    if (filter.since !== undefined) where.push(`started_at >= $${params.push(filter.since)}`);
    if (filter.status !== undefined) where.push(`status = $${params.push(filter.status)}`);
    const { rows } = await this.pool.query<Row>(
      `SELECT * FROM ${this.s}.console_rollouts ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY started_at DESC NULLS LAST, incident_id, patch_id LIMIT $${params.push(filter.limit)}`,
      params,
    );
    return rows.map((r) => ({
      incidentId: r['incident_id'],
      patchId: r['patch_id'],
      service: r['service'],
      release: r['release'],
      status: r['status'],
      stages: r['stages'],
      stage: r['stage'],
      startedAt: iso(r['started_at']),
      endedAt: iso(r['ended_at']),
      cause: r['cause'],
      reason: r['reason'],
      evidence: r['evidence'],
    }));
  }
}
