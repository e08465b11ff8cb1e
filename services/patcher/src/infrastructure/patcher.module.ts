import { Module, type DynamicModule } from '@nestjs/common';
import { PlatformModule, type PlatformModuleOptions } from '@antibody/platform';

/** Root module of antibody-patcher: the platform (config, Postgres, NATS, /health, /metrics, logs). */
@Module({})
export class PatcherModule {
  static forRoot(platform: PlatformModuleOptions): DynamicModule {
    return { module: PatcherModule, imports: [PlatformModule.forRoot(platform)] };
  }
}
