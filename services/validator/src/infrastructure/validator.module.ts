import { Module, type DynamicModule } from '@nestjs/common';
import { EVENT_STORE, EventBusModule } from '@antibody/bus/nest';
import type { EventStore } from '@antibody/event-store';
import { PlatformModule, type PlatformModuleOptions } from '@antibody/platform';
import { patchProposedHandler, VALIDATION_SETTINGS } from '../handlers/patch-proposed.handler';
import type { ValidationSettings } from '../handlers/validate-patch';
import type { ValidatorConfig } from './config';
import { detectIsolation, SandboxedRuns } from './sandbox';
import { ValidationStore } from './validation-store';
import { Workspaces } from './workspace';

/**
 * Root module of antibody-validator: the platform (config, Postgres, NATS, /health, /metrics, logs),
 * the event bus, and the `PatchProposed` handler with its workspaces, sandbox settings and tables
 * (created at start). At shutdown, `SandboxedRuns` kills the sandboxed runs in flight first (their
 * validations end without a verdict and are delivered again), then the bus stops its consumers.
 */
@Module({})
export class ValidatorModule {
  static forRoot(platform: PlatformModuleOptions<ValidatorConfig>): DynamicModule {
    const { config } = platform;
    const settings: ValidationSettings = {
      limits: {
        timeLimitMs: config.VALIDATOR_TIMEOUT_SECONDS * 1000,
        memoryBytes: config.VALIDATOR_MEMORY_MB * 2 ** 20,
        maxProcesses: config.VALIDATOR_MAX_PROCESSES,
        outputCapBytes: config.VALIDATOR_OUTPUT_CAP_MB * 2 ** 20,
      },
      installTimeLimitMs: config.VALIDATOR_INSTALL_TIMEOUT_SECONDS * 1000,
      flakyReruns: config.VALIDATOR_FLAKY_RERUNS,
    };
    const isolation = detectIsolation();
    platform.logger?.info(`antibody-validator: sandbox ${isolation.mode} (${isolation.why})`);
    return {
      module: ValidatorModule,
      imports: [PlatformModule.forRoot(platform), EventBusModule.forRoot({ durable: 'validator', relay: true })],
      providers: [
        SandboxedRuns,
        // Every sandboxed run gets the stop switch: stopping the validator kills the runs in flight.
        { provide: VALIDATION_SETTINGS, inject: [SandboxedRuns], useFactory: (runs: SandboxedRuns): ValidationSettings => ({ ...settings, signal: runs.signal }) },
        { provide: Workspaces, useValue: new Workspaces(config.VALIDATOR_WORK_DIR) },
        {
          provide: ValidationStore,
          inject: [EVENT_STORE],
          useFactory: async (store: EventStore) => {
            const validations = new ValidationStore(store.pool, store.schema);
            await validations.migrate();
            return validations;
          },
        },
        patchProposedHandler({ concurrency: config.VALIDATOR_CONCURRENCY, ackWaitMs: config.VALIDATOR_ACK_WAIT_SECONDS * 1000 }),
      ],
    };
  }
}
