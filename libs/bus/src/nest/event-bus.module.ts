import {
  Inject,
  Injectable,
  Logger,
  Module,
  type BeforeApplicationShutdown,
  type DynamicModule,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { DiscoveryModule, DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { jetstreamManager } from '@nats-io/jetstream';
import { createEventStore, migrateEventStore, readCheckpoint, START, type EventStore } from '@antibody/event-store';
import { STREAM_NAME } from '../definitions';
import { createJetStreamBus } from '../jetstream-bus';
import { createBusMetrics, type BusMetrics, type ConsumerLag } from '../metrics';
import { startRelay, type Relay } from '../relay';
import { createStoreLogBus } from '../store-log-bus';
import type { Consumer, EventBus } from '../types';
import { EventBusModuleError } from './errors';
import { discoverHandlers } from './handler-discovery';
import { EVENT_BUS, EVENT_BUS_CONNECTION, EVENT_STORE, type EventBusConnection } from './tokens';

/** Options of {@link EventBusModule.forRoot}. */
export interface EventBusModuleOptions {
  /**
   * The service name (`analyzer`): prefix of every durable consumer this service runs, shared by
   * all its instances. Letters, digits, `-` and `_`.
   */
  readonly durable: string;
  /** Where a handler whose consumer does not exist yet starts: position 0 (default) or now. */
  readonly from?: 'start' | 'now';
  /**
   * Run the store -> JetStream relay in this process (ignored without NATS). Every service may
   * set it: a Postgres advisory lock keeps exactly one relay active, the others stand by.
   */
  readonly relay?: boolean;
  /** JetStream stream name (default `ANTIBODY`); set a fresh one per test. */
  readonly streamName?: string;
  /** Subject prefix (default `antibody`); set a fresh one per test. */
  readonly subjectPrefix?: string;
  /** Store-log consumers' and the relay's fallback poll when no NOTIFY arrives (default 250 ms). */
  readonly pollIntervalMs?: number;
  /** What to run on; by default the {@link EVENT_BUS_CONNECTION} that `PlatformModule` provides. */
  readonly connection?: EventBusConnection;
}

const MODULE_OPTIONS = Symbol('antibody.bus.module-options');
const CONNECTION = Symbol('antibody.bus.resolved-connection');

/**
 * Starts and stops the relay and one consumer per `@OnEvent` method. Consumers stop in
 * `beforeApplicationShutdown`, so that they finish their in-flight events before
 * `onApplicationShutdown` hooks (the platform's) end the pool and drain NATS.
 */
@Injectable()
class EventBusRunner implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('EventBus');
  private readonly consumers: Consumer[] = [];
  private relay: Relay | undefined;

  constructor(
    @Inject(MODULE_OPTIONS) private readonly options: EventBusModuleOptions,
    @Inject(CONNECTION) private readonly connection: EventBusConnection,
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly reflector: Reflector,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const { options, connection } = this;
    if (options.relay && connection.nats) {
      this.relay = startRelay({
        store: this.store,
        nc: connection.nats,
        streamName: options.streamName,
        subjectPrefix: options.subjectPrefix,
        pollIntervalMs: options.pollIntervalMs,
        onError: (error) => this.logger.warn(`relay: ${describe(error)}`),
        onRoleChange: (role) => this.logger.log(role === 'active' ? 'relay active: publishing the store to JetStream' : 'relay inactive'),
      });
    }
    if (connection.metrics) this.probeMetrics(createBusMetrics(connection.metrics));
    const handlers = discoverHandlers(options.durable, options.from, this.discovery, this.scanner, this.reflector);
    try {
      for (const { consumer, handler } of handlers) this.consumers.push(await this.bus.consume(consumer, handler));
    } catch (error) {
      await this.stop();
      throw error;
    }
    const names = handlers.map((h) => `${h.consumer.durable} [${(h.consumer.types ?? []).join(', ')}]`);
    this.logger.log(`${this.bus.transport} transport, ${handlers.length} handler(s)${names.length ? `: ${names.join('; ')}` : ''}`);
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.stop();
  }

  /** What the scrape-time gauges read: the active relay's checkpoint and each consumer's lag. */
  private probeMetrics(metrics: BusMetrics): void {
    const { nats } = this.connection;
    const streamName = this.options.streamName ?? STREAM_NAME;
    metrics.setProbes({
      relayCheckpoint: async () => (this.relay?.isActive() ? this.relay.checkpoint() : undefined),
      storeWide: () => (nats ? this.relay?.isActive() === true : true),
      consumerLag: async () => {
        const lags = new Map<string, ConsumerLag>();
        const durables = this.consumers.map((c) => c.durable);
        if (nats) {
          const jsm = await jetstreamManager(nats);
          for (const durable of durables) {
            const info = await jsm.consumers.info(streamName, durable).catch(() => undefined);
            if (info) lags.set(durable, { pending: info.num_pending, ackPending: info.num_ack_pending, redelivered: info.num_redelivered });
          }
          return lags;
        }
        const head = await this.store.headCheckpoint();
        for (const durable of durables) {
          const at = (await readCheckpoint(this.store, `bus:${durable}`)) ?? START;
          lags.set(durable, { pending: Math.max(0, Number(head.position) - Number(at.position)), ackPending: 0, redelivered: 0 });
        }
        return lags;
      },
    });
  }

  private async stop(): Promise<void> {
    const step = async (what: string, work: () => Promise<unknown>): Promise<void> => {
      try {
        await work();
      } catch (error) {
        this.logger.warn(`error while stopping ${what}: ${describe(error)}`);
      }
    };
    const consumers = this.consumers.splice(0);
    await Promise.all(consumers.map((c) => step(`consumer ${c.durable}`, () => c.stop())));
    await step('the bus', () => this.bus.close());
    const relay = this.relay;
    this.relay = undefined;
    if (relay) await step('the relay', () => relay.stop());
    await step('the store listener', () => this.store.close());
  }
}

/**
 * The event bus for a Nest service, in one import: `EventBusModule.forRoot({ durable: 'analyzer', relay: true })`.
 * Global; it provides
 *
 * - {@link EVENT_STORE}: the `EventStore`, migrated (`migrateEventStore`) before anything uses it;
 * - {@link EVENT_BUS}: an `EventBus` over JetStream when the connection has NATS, else over the
 *   store's own log (embedded mode);
 *
 * and at application bootstrap starts the relay (when `relay` is set and NATS is there) and one
 * durable consumer per `@OnEvent` method of any provider (see {@link OnEvent}); at shutdown it
 * lets in-flight handlers finish and stops them all. Start-up fails with an
 * {@link EventBusModuleError} for a bad option or handler name, and with the transport's error
 * when a consumer cannot be created. Bootstrap waits for every consumer to exist (on JetStream,
 * a new consumer first catches up from the store).
 *
 * It needs an {@link EventBusConnection}: `PlatformModule.forRoot` provides one, or pass
 * `connection`.
 */
@Module({})
export class EventBusModule {
  /** Builds the bus for one service; see {@link EventBusModuleOptions}. */
  static forRoot(options: EventBusModuleOptions): DynamicModule {
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(options.durable)) {
      throw new EventBusModuleError('OPTIONS_INVALID', `EventBusModule durable "${options.durable}" must be 1-64 letters, digits, "-" or "_" (the service name)`);
    }
    const logger = new Logger('EventBus');
    const onError = (error: unknown): void => logger.warn(`${options.durable}: ${describe(error)}`);
    return {
      module: EventBusModule,
      global: true,
      imports: [DiscoveryModule],
      providers: [
        { provide: MODULE_OPTIONS, useValue: options },
        options.connection
          ? { provide: CONNECTION, useValue: options.connection }
          : {
              provide: CONNECTION,
              inject: [{ token: EVENT_BUS_CONNECTION, optional: true }],
              useFactory: (connection: EventBusConnection | undefined) => {
                if (connection) return connection;
                throw new EventBusModuleError(
                  'CONNECTION_MISSING',
                  'EventBusModule has nothing to run on: import PlatformModule.forRoot(...) in the same application, or pass EventBusModule.forRoot({ connection })',
                );
              },
            },
        {
          provide: EVENT_STORE,
          inject: [CONNECTION],
          useFactory: async (connection: EventBusConnection): Promise<EventStore> => {
            await migrateEventStore({ connectionString: connection.databaseUrl, schema: connection.schema });
            const store = createEventStore({ pool: connection.pool, schema: connection.schema });
            return connection.metrics ? createBusMetrics(connection.metrics).observeStore(store) : store;
          },
        },
        {
          provide: EVENT_BUS,
          inject: [CONNECTION, EVENT_STORE],
          useFactory: (connection: EventBusConnection, store: EventStore): EventBus =>
            connection.nats
              ? createJetStreamBus({
                  nc: connection.nats,
                  store,
                  producer: connection.producer,
                  streamName: options.streamName,
                  subjectPrefix: options.subjectPrefix,
                  onError,
                  metrics: connection.metrics && createBusMetrics(connection.metrics),
                })
              : createStoreLogBus({ store, producer: connection.producer, pollIntervalMs: options.pollIntervalMs, onError, metrics: connection.metrics && createBusMetrics(connection.metrics) }),
        },
        EventBusRunner,
      ],
      exports: [EVENT_BUS, EVENT_STORE],
    };
  }
}

/** One line naming the error and its causes, never a stack. */
function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const line = `${error.name}: ${error.message.split('\n')[0] ?? ''}`;
  return error.cause === undefined ? line : `${line} (cause: ${describe(error.cause)})`;
}
