import { Inject, Injectable, Logger, Module, type BeforeApplicationShutdown, type DynamicModule, type OnApplicationBootstrap } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { EVENT_STORE, EventBusModule } from '@antibody/bus/nest';
import type { EventStore } from '@antibody/event-store';
import { HealthChecks, PG_POOL, PLATFORM_CONFIG, PlatformModule, type BaseServiceConfig, type PlatformModuleOptions } from '@antibody/platform';
import type { Pool } from 'pg';
import { OperatorAuth } from './auth';
import { CONSOLE_DEPENDENCIES, ConsoleController, type ConsoleDependencies } from './console.controller';
import { ConsoleErrorFilter } from './http-errors';
import { ReadApi } from './read-api';
import { ConsoleReadModels } from './read-models';
import { migrateConsoleSchema } from './schema';

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** Creates the console's tables, then projects the log into them for as long as the app runs. */
@Injectable()
export class ConsoleRuntime implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('Console');
  private readModels: ConsoleReadModels | undefined;
  private lastError: string | undefined;

  constructor(
    @Inject(PLATFORM_CONFIG) private readonly config: BaseServiceConfig,
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly health: HealthChecks,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await migrateConsoleSchema(this.pool, this.config.ANTIBODY_SCHEMA);
    this.readModels = new ConsoleReadModels(this.store, {
      onError: (error) => {
        this.lastError = describe(error);
        this.logger.warn(`read models: ${this.lastError}; retrying`);
      },
    }).start();
    // The API keeps answering from the rows it has while a batch is retried: reported, not gating.
    this.health.add('read-models', () => (this.lastError ? { up: false, message: this.lastError } : { up: true }), { gatesReadiness: false });
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.readModels?.stop();
  }
}

/**
 * Root module of antibody-console: the platform (config, Postgres, /health, /metrics, logs), the
 * event store, the read models and the operators' HTTP API.
 */
@Module({})
export class ConsoleModule {
  static forRoot(platform: PlatformModuleOptions): DynamicModule {
    return {
      module: ConsoleModule,
      imports: [PlatformModule.forRoot({ readyNeeds: ['postgres'], ...platform }), EventBusModule.forRoot({ durable: 'console', relay: true })],
      controllers: [ConsoleController],
      providers: [
        ConsoleRuntime,
        { provide: APP_FILTER, useClass: ConsoleErrorFilter },
        {
          provide: CONSOLE_DEPENDENCIES,
          inject: [PLATFORM_CONFIG, PG_POOL, EVENT_STORE],
          useFactory: (config: BaseServiceConfig, pool: Pool, store: EventStore): ConsoleDependencies => ({
            store,
            auth: new OperatorAuth(pool, config.ANTIBODY_SCHEMA),
            read: new ReadApi(pool, config.ANTIBODY_SCHEMA),
            producer: { service: 'console', instance: config.SERVICE_INSTANCE_ID },
            now: () => Date.now(),
          }),
        },
      ],
    };
  }
}
