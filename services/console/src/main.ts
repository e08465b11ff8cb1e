// antibody-console: read models of incidents, services, patterns, costs and rollouts projected
// from the event log, and the operators' HTTP API over them with the commands approve, reject,
// retry, resolve and close (authenticated with operator tokens).
import { bootstrapService } from '@antibody/platform/bootstrap';

void bootstrapService({
  service: 'console',
  // Imported lazily so that Nest and the service's code load after telemetry has started.
  module: async (platform) => (await import('./infrastructure/console.module')).ConsoleModule.forRoot(platform),
});
