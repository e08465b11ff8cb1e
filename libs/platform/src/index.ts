/**
 * @antibody/platform — the service kit every Antibody service starts from: typed configuration
 * validated at start, Postgres and NATS connections with retry, `/health/live`, `/health/ready`,
 * `/health` and `/metrics`, JSON
 * logs carrying trace ids, and `bootstrapService` for `main.ts`.
 *
 * `main.ts` should import `bootstrapService` from `@antibody/platform/bootstrap`, which loads
 * nothing but config and telemetry before telemetry starts; this entry loads Nest eagerly.
 */
export { bootstrapService, EXIT_CONFIG, EXIT_UNAVAILABLE } from './bootstrap';
export type { BootstrapOptions } from './bootstrap';
export { createPlatformApp } from './app';
export type { RootModule } from './app';
export {
  baseServiceConfigSchema,
  ConfigError,
  DEFAULT_SERVICE_PORTS,
  loadConfig,
  serviceDisplayName,
} from './config';
export type { BaseServiceConfig, LogLevel, ServiceName } from './config';
export { ConnectError, connectNats, connectPostgres, describeConnectError, retryDelayMs } from './connections';
export type { ConnectOptions, PlatformLog } from './connections';
export {
  HEALTH_TIMEOUT_MS,
  HealthChecks,
  HealthController,
  healthReport,
  NatsHealthIndicator,
  PostgresHealthIndicator,
  type HealthCheckOptions,
  type HealthPart,
  type HealthState,
  type ReadinessDependency,
} from './health';
export { createPlatformLogger, pinoHttpParams, REDACTED_LOG_PATHS, traceLogMixin } from './logging';
export type { PlatformLoggerOptions } from './logging';
export { METRIC_PREFIX, MetricsController, MetricsService, RESERVED_METRIC_LABELS } from './metrics';
export { PlatformModule } from './platform.module';
export type { PlatformModuleOptions } from './platform.module';
export { NATS_CONNECTION, PG_POOL, PLATFORM_CONFIG } from './tokens';
