import type { NatsConnection } from '@nats-io/nats-core';
import type { Pool } from 'pg';
import type { Registry } from 'prom-client';
import type { Producer } from '../types';

/** Injection token of the service's {@link EventBus} (`@Inject(EVENT_BUS) bus: EventBus`). */
export const EVENT_BUS = Symbol.for('antibody.bus.event-bus');

/** Injection token of the service's migrated `EventStore` (`@Inject(EVENT_STORE) store: EventStore`). */
export const EVENT_STORE = Symbol.for('antibody.bus.event-store');

/**
 * Injection token of the {@link EventBusConnection} that `EventBusModule` builds on.
 * `PlatformModule.forRoot` provides it from its pool, NATS connection and config.
 */
export const EVENT_BUS_CONNECTION = Symbol.for('antibody.bus.connection');

/** What the bus runs on. The caller owns `pool` and `nats`: the module never ends or drains them. */
export interface EventBusConnection {
  /** Pool of the event store's database. */
  readonly pool: Pool;
  /** URL of the same database, for `migrateEventStore` at start. */
  readonly databaseUrl: string;
  /** Postgres schema of the event store (`ANTIBODY_SCHEMA`). */
  readonly schema: string;
  /** An open NATS connection (JetStream transport), or `null` for the embedded store-log transport. */
  readonly nats: NatsConnection | null;
  /** Who writes the events this service emits (metadata `producer`). */
  readonly producer: Producer;
  /**
   * The service's Prometheus registry: when set, the bus registers its metrics there (deliveries,
   * dead letters, consumer and relay lag, domain metrics of the events appended; see
   * `createBusMetrics`). `PlatformModule` passes its `MetricsService.registry`.
   */
  readonly metrics?: Registry;
}
