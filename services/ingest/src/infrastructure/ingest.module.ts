import { Module, type DynamicModule } from '@nestjs/common';
import { PlatformModule, type PlatformModuleOptions } from '@antibody/platform';

/** Root module of antibody-ingest: the platform (config, Postgres, NATS, /health, /metrics, logs). */
@Module({})
export class IngestModule {
  static forRoot(platform: PlatformModuleOptions): DynamicModule {
    return { module: IngestModule, imports: [PlatformModule.forRoot(platform)] };
  }
}
