/** Injection token of the service's validated configuration (a `BaseServiceConfig` or extension). */
export const PLATFORM_CONFIG = Symbol.for('antibody.platform.config');
/** Injection token of the service's `pg.Pool`. */
export const PG_POOL = Symbol.for('antibody.platform.pg-pool');
/** Injection token of the `NatsConnection`, or `null` when `NATS_URL` is unset (embedded mode). */
export const NATS_CONNECTION = Symbol.for('antibody.platform.nats-connection');
/** @internal Injection token of the resolved `PlatformModuleOptions`. */
export const PLATFORM_OPTIONS = Symbol.for('antibody.platform.options');
