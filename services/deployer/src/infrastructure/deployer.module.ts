import { Module, type DynamicModule } from '@nestjs/common';
import { EventBusModule } from '@antibody/bus/nest';
import { PlatformModule, type PlatformModuleOptions } from '@antibody/platform';
import { DEFAULT_JUDGE_CONFIG, validateJudgeConfig } from '../domain/judge';
import { DEPLOYER_SETTINGS, PatchValidatedHandler, type DeployerSettings } from '../handlers/patch-validated.handler';
import type { DeployerConfig } from './config';
import { Notifier } from './notifier';


/**
 * Root module of antibody-deployer: the platform (config, Postgres, NATS, /health, /metrics, logs),
 * the event bus, and the PatchValidated handler (fix as code, then proposal or judged rollout).
 */
@Module({})
export class DeployerModule {
  static forRoot(platform: PlatformModuleOptions): DynamicModule {
    const config = platform.config as unknown as DeployerConfig;
    const settings: DeployerSettings = {
      judge: validateJudgeConfig({
        ...DEFAULT_JUDGE_CONFIG,
        stages: config.DEPLOYER_STAGES ?? DEFAULT_JUDGE_CONFIG.stages,
        minDwellMs: config.DEPLOYER_MIN_DWELL_MS ?? DEFAULT_JUDGE_CONFIG.minDwellMs,
        minCanaryRequests: config.DEPLOYER_MIN_CANARY_REQUESTS ?? DEFAULT_JUDGE_CONFIG.minCanaryRequests,
        stageDeadlineMs: config.DEPLOYER_STAGE_DEADLINE_MS ?? DEFAULT_JUDGE_CONFIG.stageDeadlineMs,
        alpha: config.DEPLOYER_ALPHA ?? DEFAULT_JUDGE_CONFIG.alpha,
      }),
      observeEveryMs: config.DEPLOYER_OBSERVE_EVERY_MS ?? 10_000,
      notifier: new Notifier({ slackWebhookUrls: config.DEPLOYER_SLACK_WEBHOOK_URLS ?? [], genericWebhookUrls: config.DEPLOYER_NOTIFY_WEBHOOK_URLS ?? [], maxPerHour: config.DEPLOYER_NOTIFY_MAX_PER_HOUR }),
      env: process.env,
    };
    return {
      module: DeployerModule,
      imports: [PlatformModule.forRoot(platform), EventBusModule.forRoot({ durable: 'deployer', relay: true })],
      providers: [{ provide: DEPLOYER_SETTINGS, useValue: settings }, PatchValidatedHandler],
    };
  }
}
