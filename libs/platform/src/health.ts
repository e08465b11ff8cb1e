import { Controller, Get, HttpCode, Inject, Injectable, Res, type BeforeApplicationShutdown } from '@nestjs/common';
import { HealthIndicatorService, type HealthCheckResult, type HealthIndicatorResult } from '@nestjs/terminus';
import type { NatsConnection } from '@nats-io/nats-core';
import type { Pool } from 'pg';
import { describeConnectError } from './connections';
import { NATS_CONNECTION, PG_POOL, PLATFORM_OPTIONS } from './tokens';

/** How long a health probe may wait on Postgres or NATS before reporting it down. */
export const HEALTH_TIMEOUT_MS = 1_500;

async function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms}ms`)), ms);
    timer.unref();
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Reports Postgres `up` when `SELECT 1` answers within the timeout, `down` with the reason otherwise. */
@Injectable()
export class PostgresHealthIndicator {
  constructor(
    private readonly indicator: HealthIndicatorService,
    @Inject(PG_POOL) private readonly pool: Pool,
  ) {}

  async isHealthy(key = 'postgres', timeoutMs = HEALTH_TIMEOUT_MS): Promise<HealthIndicatorResult> {
    const check = this.indicator.check(key);
    try {
      await withTimeout(this.pool.query('SELECT 1'), timeoutMs, 'Postgres');
      return check.up();
    } catch (err) {
      return check.down({ message: describeConnectError(err) });
    }
  }
}

/**
 * Reports NATS `up` when the connection is open and a `flush` round trip completes within the
 * timeout (with the round-trip time in ms), `down` when it is closed or silent, and `up` with
 * `mode: "embedded"` when the service runs without NATS.
 */
@Injectable()
export class NatsHealthIndicator {
  constructor(
    private readonly indicator: HealthIndicatorService,
    @Inject(NATS_CONNECTION) private readonly nats: NatsConnection | null,
  ) {}

  async isHealthy(key = 'nats', timeoutMs = HEALTH_TIMEOUT_MS): Promise<HealthIndicatorResult> {
    const check = this.indicator.check(key);
    if (this.nats === null) return check.up({ mode: 'embedded' });
    if (this.nats.isClosed()) return check.down({ message: 'connection closed' });
    try {
      const rttMs = await withTimeout(this.nats.rtt(), timeoutMs, 'NATS');
      return check.up({ server: this.nats.getServer(), rttMs });
    } catch (err) {
      return check.down({ message: describeConnectError(err) });
    }
  }
}

/** What a service-specific health check reports: up, or down with why. */
export interface HealthState {
  readonly up: boolean;
  readonly message?: string;
}

/** Options of {@link HealthChecks.add}. */
export interface HealthCheckOptions {
  /**
   * Whether the instance is unready while the check reports down (default `true`). `false`: the
   * part is reported in `/health/ready` and `/health` but does not take the instance out of
   * service, for a part whose failure does not stop the instance doing its job (ingest's
   * processor thread: reports are still stored, and any instance's processor counts them).
   */
  readonly gatesReadiness?: boolean;
}

/** The dependencies that `/health/ready` may require; see `PlatformModuleOptions.readyNeeds`. */
export type ReadinessDependency = 'postgres' | 'nats';

/**
 * The service's own parts that the health endpoints report besides Postgres and NATS (e.g.
 * ingest's processor thread): a service adds a check under a key.
 */
@Injectable()
export class HealthChecks {
  private readonly checks = new Map<string, { check: () => HealthState; gatesReadiness: boolean }>();

  constructor(private readonly indicator: HealthIndicatorService) {}

  /** Adds (or replaces) the check under `key`; see {@link HealthCheckOptions}. */
  add(key: string, check: () => HealthState, options: HealthCheckOptions = {}): void {
    this.checks.set(key, { check, gatesReadiness: options.gatesReadiness ?? true });
  }

  /** The registered checks, each as a part of a {@link healthReport}. A check that throws reports down. */
  parts(): HealthPart[] {
    return [...this.checks].map(([key, { check, gatesReadiness }]) => {
      let state: HealthState;
      try {
        state = check();
      } catch (err) {
        state = { up: false, message: `check failed: ${err instanceof Error ? err.message : String(err)}` };
      }
      const result = state.up ? this.indicator.check(key).up() : this.indicator.check(key).down(state.message ? { message: state.message } : {});
      return { result, required: gatesReadiness };
    });
  }
}

/** One part of a health report: what an indicator said, and whether the probe fails when it is down. */
export interface HealthPart {
  readonly result: HealthIndicatorResult;
  readonly required: boolean;
}

/**
 * Folds the parts into terminus's response shape. `status` is `ok` (HTTP 200) unless a required
 * part is down (`error`, 503) or the instance is stopping (`shutting_down`, 503). `info` holds the
 * parts up, `error` every part down (required or not), `details` all of them, so a part that does
 * not gate the probe is still visible.
 */
export function healthReport(parts: readonly HealthPart[], shuttingDown = false): { httpStatus: 200 | 503; body: HealthCheckResult } {
  const info: HealthIndicatorResult = {};
  const error: HealthIndicatorResult = {};
  let failed = false;
  for (const { result, required } of parts) {
    for (const [key, value] of Object.entries(result)) {
      if (value.status === 'up') info[key] = value;
      else {
        error[key] = value;
        if (required) failed = true;
      }
    }
  }
  const status = shuttingDown ? 'shutting_down' : failed ? 'error' : 'ok';
  return { httpStatus: status === 'ok' ? 200 : 503, body: { status, info, error, details: { ...info, ...error } } };
}

/** @internal The readiness settings from `PlatformModuleOptions`. */
export interface HealthOptions {
  readonly readyNeeds?: readonly ReadinessDependency[];
}

/** A response the controller can set a status on (Express's, through `@Res({ passthrough: true })`). */
interface StatusResponse {
  status(code: number): unknown;
}

/**
 * Serves the probes:
 *
 * - `GET /health/live`: 200 while the process serves HTTP. It checks no dependency, so an outage of
 *   Postgres or NATS never restarts the instance (a wedged event loop fails it by timing out).
 * - `GET /health/ready`: 200 while the instance can do its job: the dependencies in `readyNeeds`
 *   (Postgres and NATS by default; ingest needs Postgres only) and the service's own checks that
 *   gate readiness are up; 503 with per-part details otherwise, and from the moment it starts
 *   shutting down (so a load balancer stops sending it work first).
 * - `GET /health`: every part (Postgres, NATS, the service's own checks); 503 when any is down. For
 *   people and dashboards, not for probes.
 */
@Controller('health')
export class HealthController implements BeforeApplicationShutdown {
  private shuttingDown = false;
  private readonly readyNeeds: ReadonlySet<ReadinessDependency>;

  constructor(
    private readonly postgres: PostgresHealthIndicator,
    private readonly nats: NatsHealthIndicator,
    private readonly checks: HealthChecks,
    @Inject(PLATFORM_OPTIONS) options: HealthOptions,
  ) {
    this.readyNeeds = new Set(options.readyNeeds ?? ['postgres', 'nats']);
  }

  beforeApplicationShutdown(): void {
    this.shuttingDown = true;
  }

  @Get('live')
  @HttpCode(200)
  live(): { status: 'ok'; uptimeSeconds: number } {
    return { status: 'ok', uptimeSeconds: Math.round(process.uptime()) };
  }

  @Get('ready')
  async ready(@Res({ passthrough: true }) res: StatusResponse): Promise<HealthCheckResult> {
    const [postgres, nats] = await Promise.all([this.postgres.isHealthy(), this.nats.isHealthy()]);
    const report = healthReport(
      [
        { result: postgres, required: this.readyNeeds.has('postgres') },
        { result: nats, required: this.readyNeeds.has('nats') },
        ...this.checks.parts(),
      ],
      this.shuttingDown,
    );
    res.status(report.httpStatus);
    return report.body;
  }

  @Get()
  async all(@Res({ passthrough: true }) res: StatusResponse): Promise<HealthCheckResult> {
    const [postgres, nats] = await Promise.all([this.postgres.isHealthy(), this.nats.isHealthy()]);
    const parts = [postgres, nats].map((result) => ({ result, required: true }));
    const report = healthReport([...parts, ...this.checks.parts().map((part) => ({ ...part, required: true }))], this.shuttingDown);
    res.status(report.httpStatus);
    return report.body;
  }
}
