import { Inject, Injectable, Module, type BeforeApplicationShutdown, type DynamicModule, type OnApplicationBootstrap } from '@nestjs/common';
import { EVENT_STORE, EventBusModule } from '@antibody/bus/nest';
import type { EventStore } from '@antibody/event-store';
import { PlatformModule, type PlatformModuleOptions } from '@antibody/platform';
import { DEFAULT_JUDGE_CONFIG, validateJudgeConfig } from '@antibody/domain';
import { DeadLetterHandler } from '../handlers/dead-letter.handler';
import { NotificationsHandler } from '../handlers/notifications.handler';
import { DEPLOYER_SETTINGS, PatchValidatedHandler, type DeployerSettings } from '../handlers/patch-validated.handler';
import type { DeployerConfig } from './config';
import { Notifier } from './notifier';
import { RolloutManager } from './rollouts';

/** Starts the rollout manager (resuming rollouts in progress) and halts its loops on shutdown. */
@Injectable()
class RolloutLifecycle implements OnApplicationBootstrap, BeforeApplicationShutdown {
  constructor(private readonly rollouts: RolloutManager) {}
  async onApplicationBootstrap(): Promise<void> {
    await this.rollouts.start();
  }
  async beforeApplicationShutdown(): Promise<void> {
    await this.rollouts.stop();
  }
}

/** Attaches the notifier to the store (its outbox) and runs its delivery loop while the app runs. */
@Injectable()
class NoticeDelivery implements OnApplicationBootstrap, BeforeApplicationShutdown {
  constructor(
    @Inject(EVENT_STORE) store: EventStore,
    @Inject(DEPLOYER_SETTINGS) private readonly settings: DeployerSettings,
  ) {
    settings.notifier.attach(store);
  }
  onApplicationBootstrap(): void {
    this.settings.notifier.start();
  }
  async beforeApplicationShutdown(): Promise<void> {
    await this.settings.notifier.stop();
  }
}

/** Options for tests and embedders: the environment secrets are read from (default process.env). */
export interface DeployerModuleOptions {
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/**
 * Root module of antibody-deployer: the platform (config, Postgres, NATS, /health, /metrics, logs),
 * the event bus, the PatchValidated / DecisionRecorded handlers (fix as code, proposal, rollout),
 * the rollout manager (judged rollouts that survive restarts), the notifications and the
 * escalation of incidents whose events were dead-lettered.
 */
@Module({})
export class DeployerModule {
  static forRoot(platform: PlatformModuleOptions<DeployerConfig>, options: DeployerModuleOptions = {}): DynamicModule {
    const { config } = platform;
    const settings: DeployerSettings = {
      judge: validateJudgeConfig({
        ...DEFAULT_JUDGE_CONFIG,
        stages: config.DEPLOYER_STAGES ?? DEFAULT_JUDGE_CONFIG.stages,
        minDwellMs: config.DEPLOYER_MIN_DWELL_MS ?? DEFAULT_JUDGE_CONFIG.minDwellMs,
        minCanaryRequests: config.DEPLOYER_MIN_CANARY_REQUESTS ?? DEFAULT_JUDGE_CONFIG.minCanaryRequests,
        stageDeadlineMs: config.DEPLOYER_STAGE_DEADLINE_MS ?? DEFAULT_JUDGE_CONFIG.stageDeadlineMs,
        alpha: config.DEPLOYER_ALPHA ?? DEFAULT_JUDGE_CONFIG.alpha,
        errorRateMargin: config.DEPLOYER_ERROR_RATE_MARGIN ?? DEFAULT_JUDGE_CONFIG.errorRateMargin,
        slowShareMargin: config.DEPLOYER_SLOW_SHARE_MARGIN ?? DEFAULT_JUDGE_CONFIG.slowShareMargin,
        promotionAlpha: config.DEPLOYER_PROMOTION_ALPHA ?? DEFAULT_JUDGE_CONFIG.promotionAlpha,
      }),
      observeEveryMs: config.DEPLOYER_OBSERVE_EVERY_MS ?? 10_000,
      resumeScanMs: config.DEPLOYER_RESUME_SCAN_MS ?? 30_000,
      notifier: new Notifier({
        slackWebhookUrls: config.DEPLOYER_SLACK_WEBHOOK_URLS ?? [],
        genericWebhookUrls: config.DEPLOYER_NOTIFY_WEBHOOK_URLS ?? [],
        maxPerHour: config.DEPLOYER_NOTIFY_MAX_PER_HOUR,
        ...(config.DEPLOYER_NOTIFY_WEBHOOK_SECRET ? { webhookSecret: config.DEPLOYER_NOTIFY_WEBHOOK_SECRET } : {}),
        ...(config.DEPLOYER_CONSOLE_URL ? { consoleUrl: config.DEPLOYER_CONSOLE_URL } : {}),
        ...(config.DEPLOYER_NOTIFY_MAX_ATTEMPTS ? { maxAttempts: config.DEPLOYER_NOTIFY_MAX_ATTEMPTS } : {}),
        ...(config.DEPLOYER_NOTIFY_RETRY_BASE_MS ? { retryBaseMs: config.DEPLOYER_NOTIFY_RETRY_BASE_MS } : {}),
      }),
      env: options.env ?? process.env,
    };
    return {
      module: DeployerModule,
      imports: [PlatformModule.forRoot(platform), EventBusModule.forRoot({ durable: 'deployer', relay: true })],
      providers: [
        { provide: DEPLOYER_SETTINGS, useValue: settings },
        {
          provide: RolloutManager,
          inject: [EVENT_STORE],
          useFactory: (store: EventStore) =>
            new RolloutManager({ store, judge: settings.judge, observeEveryMs: settings.observeEveryMs, resumeScanMs: settings.resumeScanMs, startRecordTimeoutMs: 60_000, notifier: settings.notifier, env: settings.env }),
        },
        RolloutLifecycle,
        NoticeDelivery,
        PatchValidatedHandler,
        NotificationsHandler,
        DeadLetterHandler,
      ],
    };
  }
}
