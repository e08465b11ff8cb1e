import { Inject, Injectable, Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import { EventBusModule, EVENT_STORE } from '@antibody/bus/nest';
import type { EventStore } from '@antibody/event-store';
import { llmSettingsFrom } from '@antibody/fix-kit';
import { modelCaller, repositoryOpener, startFixLedger, type FixLedger } from '@antibody/fix-io';
import { PlatformModule, PLATFORM_CONFIG, type PlatformModuleOptions } from '@antibody/platform';
import { Learner } from '../handlers/learner';
import { PatchHandler } from '../handlers/patch.handler';
import { Patcher } from '../handlers/patcher';

/** Injection token of the running {@link FixLedger} (pattern library and LLM spend). */
export const FIX_LEDGER = Symbol.for('antibody.patcher.fix-ledger');

@Injectable()
class LedgerLifecycle implements OnApplicationShutdown {
  constructor(@Inject(FIX_LEDGER) private readonly ledger: FixLedger) {}
  async onApplicationShutdown(): Promise<void> {
    await this.ledger.stop();
  }
}

/**
 * Fallback poll of the store-log consumers and the relay, for when a NOTIFY is lost: short,
 * because every step of an incident's path waits on the one before it.
 */
const BUS_POLL_MS = 100;

/**
 * Root module of antibody-patcher: the platform, the event bus, the fix ledger (pattern library +
 * LLM spend, rebuilt from events), the patch handler and the learner.
 */

@Module({})
export class PatcherModule {
  static forRoot(platform: PlatformModuleOptions): DynamicModule {
    return {
      module: PatcherModule,
      imports: [PlatformModule.forRoot(platform), EventBusModule.forRoot({ durable: 'patcher', relay: true, pollIntervalMs: BUS_POLL_MS })],
      providers: [
        { provide: FIX_LEDGER, inject: [EVENT_STORE], useFactory: (store: EventStore) => startFixLedger(store) },
        LedgerLifecycle,
        {
          provide: Patcher,
          inject: [EVENT_STORE, FIX_LEDGER, PLATFORM_CONFIG],
          useFactory: (store: EventStore, ledger: FixLedger, config: Record<string, unknown>) => {
            const llm = llmSettingsFrom(config);
            return new Patcher({ store, ledger, llm, openRepository: repositoryOpener(config), askModel: modelCaller({ settings: llm, ledger, now: () => new Date() }) });
          },
        },
        {
          provide: Learner,
          inject: [EVENT_STORE, PLATFORM_CONFIG],
          useFactory: (store: EventStore, config: Record<string, unknown>) => new Learner({ store, openRepository: repositoryOpener(config) }),
        },
        PatchHandler,
      ],
    };
  }
}
