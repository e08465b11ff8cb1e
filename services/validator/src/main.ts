// antibody-validator: proves a patch in an isolated worktree (baseline vs patched test runs, reproduction of the captured failure): PatchValidated | PatchRejected.
import { bootstrapService } from '@antibody/platform/bootstrap';
import { validatorConfigSchema, type ValidatorConfig } from './infrastructure/config';

void bootstrapService<ValidatorConfig>({
  service: 'validator',
  configSchema: validatorConfigSchema,
  // Imported lazily so that Nest and the service's code load after telemetry has started.
  module: async (platform) => (await import('./infrastructure/validator.module')).ValidatorModule.forRoot(platform),
});
