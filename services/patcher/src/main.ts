// antibody-patcher: writes a code patch for a diagnosis with AST templates, learned patterns, then LLM edits: PatchProposed | PatchFailed.
import { bootstrapService } from '@antibody/platform/bootstrap';

void bootstrapService({
  service: 'patcher',
  // Imported lazily so that Nest and the service's code load after telemetry has started.
  module: async (platform) => (await import('./infrastructure/patcher.module')).PatcherModule.forRoot(platform),
});
