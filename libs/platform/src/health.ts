import { Controller, Get, Inject, Injectable } from '@nestjs/common';
import {
  HealthCheck,
  HealthCheckService,
  HealthIndicatorService,
  type HealthCheckResult,
  type HealthIndicatorResult,
} from '@nestjs/terminus';
import type { NatsConnection } from '@nats-io/nats-core';
import type { Pool } from 'pg';
import { describeConnectError } from './connections';
import { NATS_CONNECTION, PG_POOL } from './tokens';

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

/**
 * The service's own parts that `GET /health` reports besides Postgres and NATS (e.g. ingest's
 * processor thread): a service adds a check under a key, and the instance is unhealthy while it
 * reports down.
 */
@Injectable()
export class HealthChecks {
  private readonly checks = new Map<string, () => HealthState>();

  constructor(private readonly indicator: HealthIndicatorService) {}

  add(key: string, check: () => HealthState): void {
    this.checks.set(key, check);
  }

  /** The registered checks as terminus indicators. */
  indicators(): Array<() => HealthIndicatorResult> {
    return [...this.checks].map(([key, check]) => () => {
      const state = check();
      return state.up ? this.indicator.check(key).up() : this.indicator.check(key).down(state.message ? { message: state.message } : {});
    });
  }
}

/** Serves `GET /health`: 200 when Postgres, NATS and the service's own checks are up, 503 with per-part details otherwise. */
@Controller()
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly postgres: PostgresHealthIndicator,
    private readonly nats: NatsHealthIndicator,
    private readonly checks: HealthChecks,
  ) {}

  @Get('health')
  @HealthCheck()
  check(): Promise<HealthCheckResult> {
    return this.health.check([() => this.postgres.isHealthy(), () => this.nats.isHealthy(), ...this.checks.indicators()]);
  }
}
