// antibody-ingest: validates, scrubs, stack-parses, fingerprints and counts errors reported by applications (Sentry SDK / OpenTelemetry / JSON API) and opens incidents: IncidentOpened, ErrorRecorded…
import { bootstrapService } from '@antibody/platform/bootstrap';

void bootstrapService({
  service: 'ingest',
  // Imported lazily so that Nest and the service's code load after telemetry has started.
  module: async (platform) => (await import('./infrastructure/ingest.module')).IngestModule.forRoot(platform),
});
