// antibody-ingest: validates, scrubs, stack-parses, fingerprints and counts errors reported by applications (Sentry SDK / OpenTelemetry / JSON API) and opens incidents: IncidentOpened, ErrorRecorded…
import { bootstrapService, EXIT_CONFIG } from '@antibody/platform/bootstrap';
import { loadIngestSettings, type IngestSettings } from './infrastructure/config';

let settings: IngestSettings;
try {
  settings = loadIngestSettings(process.env);
} catch (err) {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(EXIT_CONFIG);
}

void bootstrapService({
  service: 'ingest',
  // Imported lazily so that Nest and the service's code load after telemetry has started.
  module: async (platform) => (await import('./infrastructure/ingest.module')).IngestModule.forRoot(platform, settings),
});
