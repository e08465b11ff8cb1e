// antibody-deployer: rolls a validated patch out (commit/branch/PR, canary stages, sequential judge), promotes or rolls back, and notifies: RolloutStarted, StageAdvanced, RolledBack | RolloutCompleted.
import { bootstrapService } from '@antibody/platform/bootstrap';

void bootstrapService({
  service: 'deployer',
  // Imported lazily so that Nest and the service's code load after telemetry has started.
  module: async (platform) => (await import('./infrastructure/deployer.module')).DeployerModule.forRoot(platform),
});
