import { Module, type DynamicModule } from '@nestjs/common';
import { PlatformModule, type PlatformModuleOptions } from '@antibody/platform';

/** Root module of antibody-analyzer: the platform (config, Postgres, NATS, /health, /metrics, logs). */
@Module({})
export class AnalyzerModule {
  static forRoot(platform: PlatformModuleOptions): DynamicModule {
    return { module: AnalyzerModule, imports: [PlatformModule.forRoot(platform)] };
  }
}
