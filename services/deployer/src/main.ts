// antibody-deployer: rolls a validated patch out (commit/branch/PR, canary stages, sequential judge), promotes or rolls back, and notifies: RolloutStarted, StageAdvanced, RolledBack | RolloutCompleted.
import { bootstrapService } from '@antibody/platform/bootstrap';
import { deployerConfigSchema, type DeployerConfig } from './infrastructure/config';

void bootstrapService<DeployerConfig>({
  service: 'deployer',
  configSchema: deployerConfigSchema,
  // Imported lazily so that Nest and the service's code load after telemetry has started.
  module: async (platform) => (await import('./infrastructure/deployer.module')).DeployerModule.forRoot(platform),
});
