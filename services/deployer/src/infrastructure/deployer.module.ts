import { Module, type DynamicModule } from '@nestjs/common';
import { EventBusModule } from '@antibody/bus/nest';
import { PlatformModule, type PlatformModuleOptions } from '@antibody/platform';

/**
 * Root module of antibody-deployer: the platform (config, Postgres, NATS, /health, /metrics, logs) and the
 * event bus (the migrated store, a consumer per `@OnEvent` handler, the relay — active or standing by).
 */
@Module({})
export class DeployerModule {
  static forRoot(platform: PlatformModuleOptions): DynamicModule {
    return {
      module: DeployerModule,
      imports: [PlatformModule.forRoot(platform), EventBusModule.forRoot({ durable: 'deployer', relay: true })],
    };
  }
}
