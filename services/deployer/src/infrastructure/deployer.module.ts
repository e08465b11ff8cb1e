import { Module, type DynamicModule } from '@nestjs/common';
import { PlatformModule, type PlatformModuleOptions } from '@antibody/platform';

/** Root module of antibody-deployer: the platform (config, Postgres, NATS, /health, /metrics, logs). */
@Module({})
export class DeployerModule {
  static forRoot(platform: PlatformModuleOptions): DynamicModule {
    return { module: DeployerModule, imports: [PlatformModule.forRoot(platform)] };
  }
}
