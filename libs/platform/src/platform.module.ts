import {
  Inject,
  Injectable,
  Module,
  RequestMethod,
  type BeforeApplicationShutdown,
  type DynamicModule,
  type MiddlewareConsumer,
  type NestModule,
  type OnApplicationShutdown,
  type Provider,
} from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { EVENT_BUS_CONNECTION, type EventBusConnection } from '@antibody/bus/nest';
import type { NatsConnection } from '@nats-io/nats-core';
import type { Telemetry } from '@antibody/telemetry';
import { LoggerModule } from 'nestjs-pino';
import type { Logger } from 'pino';
import type { Pool } from 'pg';
import { serviceDisplayName, type BaseServiceConfig } from './config';
import { connectNats, connectPostgres, describeConnectError } from './connections';
import { HealthChecks, HealthController, NatsHealthIndicator, PostgresHealthIndicator, type ReadinessDependency } from './health';
import { createPlatformLogger, pinoHttpParams } from './logging';
import { HTTP_METRICS_ROUTES, HttpMetricsMiddleware, MetricsController, MetricsService } from './metrics';
import { NATS_CONNECTION, PG_POOL, PLATFORM_CONFIG, PLATFORM_OPTIONS } from './tokens';

/** Options of {@link PlatformModule.forRoot}. */
export interface PlatformModuleOptions<C extends BaseServiceConfig = BaseServiceConfig> {
  /** Service name, e.g. `ingest`. */
  service: string;
  /** The validated configuration (see `loadConfig`); provided under `PLATFORM_CONFIG`. */
  config: C;
  /** An open pool; when omitted the module connects to `config.DATABASE_URL` with retry. */
  postgres?: Pool;
  /**
   * An open NATS connection, or `null` for the embedded transport; when omitted the module
   * connects to `config.NATS_URL` with retry, or provides `null` when it is unset.
   */
  nats?: NatsConnection | null;
  /** The process logger; when omitted one is created from the config. */
  logger?: Logger;
  /** Telemetry to flush and stop last on shutdown, after the pool and NATS are closed. */
  telemetry?: Pick<Telemetry, 'shutdown'>;
  /**
   * The dependencies without which the instance cannot do its job, so `GET /health/ready` answers
   * 503 while one is down. Default both; ingest takes reports with Postgres alone (its relay
   * catches up once NATS is back), so it names only `postgres`.
   */
  readyNeeds?: readonly ReadinessDependency[];
}

/** @internal Holds the process logger for providers that write outside a request. */
class PinoLog {
  constructor(readonly logger: Logger) {}
}

/** @internal Closes NATS, the pool and telemetry when the application shuts down. */
@Injectable()
class PlatformLifecycle implements BeforeApplicationShutdown, OnApplicationShutdown {
  constructor(
    @Inject(PLATFORM_OPTIONS) private readonly options: PlatformModuleOptions,
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(NATS_CONNECTION) private readonly nats: NatsConnection | null,
    private readonly log: PinoLog,
  ) {}

  beforeApplicationShutdown(signal?: string): void {
    if (signal) this.log.logger.info(`${serviceDisplayName(this.options.service)}: ${signal} received; shutting down`);
  }

  async onApplicationShutdown(): Promise<void> {
    const name = serviceDisplayName(this.options.service);
    const step = async (what: string, close: () => Promise<unknown>): Promise<void> => {
      try {
        await close();
      } catch (err) {
        this.log.logger.warn(`${name}: error while closing ${what} (${describeConnectError(err)})`);
      }
    };
    const nats = this.nats;
    if (nats !== null && !nats.isClosed()) await step('NATS', () => nats.drain());
    await step('Postgres pool', () => this.pool.end());
    const telemetry = this.options.telemetry;
    if (telemetry) await step('telemetry', () => telemetry.shutdown());
    this.log.logger.info(`${name}: stopped`);
  }
}

/**
 * The platform every Antibody service imports once, through {@link PlatformModule.forRoot}. It is
 * global and provides:
 *
 * - `PLATFORM_CONFIG` (the config), `PG_POOL` (a `pg.Pool`), `NATS_CONNECTION` (a
 *   `NatsConnection`, or `null` in embedded mode) and {@link MetricsService};
 * - `EVENT_BUS_CONNECTION` (from `@antibody/bus/nest`): that pool, NATS connection, schema and
 *   producer, which `EventBusModule.forRoot(...)` builds the service's bus on;
 * - `GET /health/live` (the process serves), `GET /health/ready` (it can do its job: see
 *   {@link PlatformModuleOptions.readyNeeds}), `GET /health` (every part), each 200 or 503 with
 *   details, and `GET /metrics` (Prometheus text);
 * - JSON request logging through nestjs-pino, and request timing into
 *   `antibody_http_request_duration_seconds`;
 * - on shutdown: NATS drained, the pool ended, telemetry flushed (errors are logged, not thrown).
 */
@Module({})
export class PlatformModule implements NestModule {
  /** Builds the platform for one service; see {@link PlatformModuleOptions}. */
  static forRoot<C extends BaseServiceConfig>(options: PlatformModuleOptions<C>): DynamicModule {
    const { service, config } = options;
    const logger =
      options.logger ?? createPlatformLogger({ service, instanceId: config.SERVICE_INSTANCE_ID, level: config.LOG_LEVEL });
    const connectOptions = { service, log: logger };
    const providers: Provider[] = [
      { provide: PLATFORM_OPTIONS, useValue: options },
      { provide: PLATFORM_CONFIG, useValue: config },
      { provide: PinoLog, useValue: new PinoLog(logger) },
      options.postgres
        ? { provide: PG_POOL, useValue: options.postgres }
        : { provide: PG_POOL, useFactory: () => connectPostgres(config.DATABASE_URL, connectOptions) },
      options.nats !== undefined
        ? { provide: NATS_CONNECTION, useValue: options.nats }
        : {
            provide: NATS_CONNECTION,
            useFactory: () => (config.NATS_URL ? connectNats(config.NATS_URL, connectOptions) : null),
          },
      {
        provide: EVENT_BUS_CONNECTION,
        inject: [PG_POOL, NATS_CONNECTION, MetricsService],
        useFactory: (pool: Pool, nats: NatsConnection | null, metrics: MetricsService): EventBusConnection => ({
          pool,
          nats,
          databaseUrl: config.DATABASE_URL,
          schema: config.ANTIBODY_SCHEMA,
          producer: { service, instance: config.SERVICE_INSTANCE_ID },
          metrics: metrics.registry,
        }),
      },
      { provide: MetricsService, useFactory: () => new MetricsService(service, config.SERVICE_INSTANCE_ID) },
      PostgresHealthIndicator,
      NatsHealthIndicator,
      HealthChecks,
      HttpMetricsMiddleware,
      PlatformLifecycle,
    ];
    return {
      module: PlatformModule,
      global: true,
      imports: [TerminusModule.forRoot({ errorLogStyle: 'json' }), LoggerModule.forRoot(pinoHttpParams(logger))],
      controllers: [HealthController, MetricsController],
      providers,
      exports: [PLATFORM_CONFIG, PG_POOL, NATS_CONNECTION, EVENT_BUS_CONNECTION, MetricsService, PostgresHealthIndicator, NatsHealthIndicator, HealthChecks],
    };
  }

  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(HttpMetricsMiddleware).forRoutes({ path: HTTP_METRICS_ROUTES, method: RequestMethod.ALL });
  }
}
