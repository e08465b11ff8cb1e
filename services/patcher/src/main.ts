// antibody-patcher: turns a diagnosis into ranked candidate patches (learned patterns, syntax-tree templates, then LLM tiers): PatchProposed | PatchFailed.
import { bootstrapService } from '@antibody/platform/bootstrap';
import { patcherConfigSchema } from './infrastructure/config';

void bootstrapService({
  service: 'patcher',
  configSchema: patcherConfigSchema,
  // Imported lazily so that Nest and the service's code load after telemetry has started.
  module: async (platform) => (await import('./infrastructure/patcher.module')).PatcherModule.forRoot(platform),
});
