// antibody-analyzer: finds an incident's root cause with learned patterns, rules, then LLM tiers: DiagnosisMade | DiagnosisFailed.
import { bootstrapService } from '@antibody/platform/bootstrap';
import { analyzerConfigSchema } from './infrastructure/config';

void bootstrapService({
  service: 'analyzer',
  configSchema: analyzerConfigSchema,
  // Imported lazily so that Nest and the service's code load after telemetry has started.
  module: async (platform) => (await import('./infrastructure/analyzer.module')).AnalyzerModule.forRoot(platform),
});
