import { Module, type DynamicModule } from '@nestjs/common';
import { PlatformModule, type PlatformModuleOptions } from '@antibody/platform';

/** Root module of antibody-validator: the platform (config, Postgres, NATS, /health, /metrics, logs). */
@Module({})
export class ValidatorModule {
  static forRoot(platform: PlatformModuleOptions): DynamicModule {
    return { module: ValidatorModule, imports: [PlatformModule.forRoot(platform)] };
  }
}
