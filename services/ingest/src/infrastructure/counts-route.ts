import type { IncomingMessage } from 'node:http';
import { quoteSchema } from '@antibody/event-store';
import type { Pool } from 'pg';
import { bucketStart } from '../domain/incident';
import { addHistograms, judgeSlow } from '../domain/latency';
import type { IngestSettings } from './config';
import { reply, type AuthContext, type IntakeRoute, type Reply } from './http-intake';

/** Counts of one release over the window (see {@link ReleaseCountsRoute}). */
export interface ReleaseWindowCounts {
  readonly requests: number;
  readonly errors: number;
  readonly slow: number;
}

/** The 200 body of `GET /v1/releases/counts`. */
export interface ReleaseCountsBody {
  readonly canary: ReleaseWindowCounts;
  readonly stable: ReleaseWindowCounts;
  readonly since: string;
  readonly slowThresholdMs: number | null;
}

/** Minutes before `since` over which the stable release's p95 is measured. */
export const SLOW_BASELINE_MINUTES = 10;

const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})$/i;
/** 1 to 200 characters, none of them a control character. */
function isName(value: string): boolean {
  if (value.length === 0 || value.length > 200) return false;
  for (let i = 0; i < value.length; i++) if (value.charCodeAt(i) < 0x20 || value.charCodeAt(i) === 0x7f) return false;
  return true;
}

interface CountsRow {
  release: string;
  in_window: boolean;
  requests: string;
  request_errors: string;
  request_duration_histogram: Array<string | number> | null;
}

/**
 * `GET /v1/releases/counts?service=&canary=&stable=&since=[&environment=]`: what the deployer's
 * canary judge reads. Cumulative request, failed-request and slow-request counts of two releases
 * of a service from the count bucket holding `since` to now (all environments unless
 * `environment` is given), read from `ingest_release_counts`: they only grow as time passes.
 * `slow` counts requests slower than the stable release's p95 measured over the
 * {@link SLOW_BASELINE_MINUTES} minutes of buckets before `since` (see `judgeSlow`); without
 * baseline data `slowThresholdMs` is null and `slow` is 0. Authenticated with an ingest key of the
 * service's project; not rate limited (reads do not spend the key's report budget).
 */
export class ReleaseCountsRoute implements IntakeRoute {
  readonly name = 'GET /v1/releases/counts';
  readonly method = 'GET';
  private readonly s: string;

  constructor(
    private readonly pool: Pool,
    schema: string,
    private readonly settings: IngestSettings,
  ) {
    this.s = quoteSchema(schema);
  }

  async handle(_req: IncomingMessage, url: URL, auth: AuthContext): Promise<Reply> {
    const params = url.searchParams;
    const required = (name: string): string | Reply => {
      const value = params.get(name);
      if (value === null || value === '') return reply(400, 'missing_parameter', `the query parameter ${name} is required (e.g. ?service=shop&canary=shop@1.1.0&stable=shop@1.0.0&since=2026-01-01T10:00:00Z)`);
      if (!isName(value)) return reply(400, 'invalid_parameter', `${name} must be 1 to 200 printable characters`);
      return value;
    };
    const service = required('service');
    if (typeof service !== 'string') return service;
    const canary = required('canary');
    if (typeof canary !== 'string') return canary;
    const stable = required('stable');
    if (typeof stable !== 'string') return stable;
    const sinceText = params.get('since');
    if (sinceText === null || sinceText === '') return reply(400, 'missing_parameter', 'the query parameter since is required: an ISO-8601 time with a zone, e.g. 2026-01-01T10:00:00Z');
    const sinceMs = ISO_8601.test(sinceText) ? Date.parse(sinceText) : Number.NaN;
    if (Number.isNaN(sinceMs)) return reply(400, 'invalid_parameter', `since must be an ISO-8601 time with a zone, e.g. 2026-01-01T10:00:00Z (got ${JSON.stringify(sinceText.slice(0, 64))})`);
    if (canary === stable) return reply(400, 'invalid_parameter', 'canary and stable must name different releases');
    const environment = params.get('environment');
    if (environment !== null && !isName(environment)) return reply(400, 'invalid_parameter', 'environment must be 1 to 200 printable characters');
    if (auth.key.project !== service) {
      return reply(403, 'wrong_project', `the ingest key belongs to ${auth.key.project}, not to ${service}; use a key of ${service}'s project`);
    }

    const since = new Date(sinceMs).toISOString();
    const windowStart = bucketStart(since, this.settings.INGEST_BUCKET_SECONDS);
    const baselineStart = new Date(Date.parse(windowStart) - SLOW_BASELINE_MINUTES * 60_000).toISOString();
    let rows: CountsRow[];
    try {
      rows = (
        await this.pool.query<CountsRow>(
          `SELECT release, bucket_start >= $4 AS in_window, requests::text, request_errors::text, request_duration_histogram
           FROM ${this.s}.ingest_release_counts
           WHERE service = $1 AND release = ANY($2::text[]) AND ($3::text IS NULL OR environment = $3) AND bucket_start >= $5`,
          [service, [canary, stable], environment, windowStart, baselineStart],
        )
      ).rows;
    } catch {
      return reply(503, 'store_unavailable', 'ingest cannot read counts right now (Postgres unavailable); retry later', {
        'retry-after': String(this.settings.INGEST_RETRY_AFTER_SECONDS),
      });
    }

    const sum = (release: string, inWindow: boolean) => {
      const selected = rows.filter((r) => r.release === release && r.in_window === inWindow);
      return {
        requests: selected.reduce((n, r) => n + Number(r.requests), 0),
        errors: selected.reduce((n, r) => n + Number(r.request_errors), 0),
        histogram: addHistograms(...selected.map((r) => (r.request_duration_histogram ?? []).map(Number))),
      };
    };
    const canaryNow = sum(canary, true);
    const stableNow = sum(stable, true);
    const judgement = judgeSlow(sum(stable, false).histogram, canaryNow.histogram, stableNow.histogram);
    const body: ReleaseCountsBody = {
      canary: { requests: canaryNow.requests, errors: canaryNow.errors, slow: judgement.canarySlow },
      stable: { requests: stableNow.requests, errors: stableNow.errors, slow: judgement.stableSlow },
      since,
      slowThresholdMs: judgement.thresholdMs,
    };
    return { status: 200, body };
  }
}
