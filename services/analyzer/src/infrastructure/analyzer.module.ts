import { Inject, Injectable, Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import { EventBusModule, EVENT_STORE } from '@antibody/bus/nest';
import type { EventStore } from '@antibody/event-store';
import { llmSettingsFrom } from '@antibody/fix-kit';
import { modelCaller, repositoryOpener, startFixLedger, type FixLedger } from '@antibody/fix-io';
import { PlatformModule, PLATFORM_CONFIG, type PlatformModuleOptions } from '@antibody/platform';
import { Diagnoser } from '../handlers/diagnoser';
import { DiagnosisHandler } from '../handlers/diagnosis.handler';
import type { AnalyzerConfig } from './config';

/** Injection token of the running {@link FixLedger} (pattern library and LLM spend). */
export const FIX_LEDGER = Symbol.for('antibody.analyzer.fix-ledger');

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
 * Root module of antibody-analyzer: the platform (config, Postgres, NATS, /health, /metrics, logs), the
 * event bus, the fix ledger (pattern library + LLM spend, rebuilt from events) and the diagnosis handler.
 */

@Module({})
export class AnalyzerModule {
  static forRoot(platform: PlatformModuleOptions): DynamicModule {
    return {
      module: AnalyzerModule,
      imports: [PlatformModule.forRoot(platform), EventBusModule.forRoot({ durable: 'analyzer', relay: true, pollIntervalMs: BUS_POLL_MS })],
      providers: [
        { provide: FIX_LEDGER, inject: [EVENT_STORE], useFactory: (store: EventStore) => startFixLedger(store) },
        LedgerLifecycle,
        {
          provide: Diagnoser,
          inject: [EVENT_STORE, FIX_LEDGER, PLATFORM_CONFIG],
          useFactory: (store: EventStore, ledger: FixLedger, config: AnalyzerConfig) => {
            const llm = llmSettingsFrom(config);
            return new Diagnoser({
              store,
              ledger,
              llm,
              openRepository: repositoryOpener(config),
              askModel: modelCaller({ settings: llm, ledger, now: () => new Date() }),
              maxRollbackRounds: config.ANTIBODY_MAX_ROLLBACK_ROUNDS,
            });
          },
        },
        DiagnosisHandler,
      ],
    };
  }
}
