import { Module, type DynamicModule } from '@nestjs/common';
import { EventBusModule } from '@antibody/bus/nest';
import { PlatformModule, type PlatformModuleOptions } from '@antibody/platform';

/**
 * Root module of antibody-validator: the platform (config, Postgres, NATS, /health, /metrics, logs) and the
 * event bus (the migrated store, a consumer per `@OnEvent` handler, the relay — active or standing by).
 */
@Module({})
export class ValidatorModule {
  static forRoot(platform: PlatformModuleOptions): DynamicModule {
    return {
      module: ValidatorModule,
      imports: [PlatformModule.forRoot(platform), EventBusModule.forRoot({ durable: 'validator', relay: true })],
    };
  }
}
