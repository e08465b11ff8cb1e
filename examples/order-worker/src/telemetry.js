'use strict';

const { NodeTracerProvider } = require('@opentelemetry/sdk-trace-node');
const { BatchSpanProcessor } = require('@opentelemetry/sdk-trace-base');
const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-http');
const { resourceFromAttributes } = require('@opentelemetry/resources');
const { name, version } = require('../package.json');

/**
 * Starts OpenTelemetry tracing when `OTEL_EXPORTER_OTLP_ENDPOINT` (or `..._TRACES_ENDPOINT`) is set:
 * spans go over OTLP/HTTP (JSON) to `<endpoint>/v1/traces`, with the headers of
 * `OTEL_EXPORTER_OTLP_HEADERS` (e.g. `Authorization=Bearer <ingest key>`) — the exporter reads
 * both itself. `service.name` is `OTEL_SERVICE_NAME` or the package name, `service.version` is
 * `APP_RELEASE` (the demo sets the git commit) or the package version, the environment
 * `APP_ENVIRONMENT` or `production`. Returns a function that flushes and stops tracing.
 */
function startTelemetry() {
  const env = process.env;
  if (!env.OTEL_EXPORTER_OTLP_ENDPOINT && !env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) return async () => {};
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({
      'service.name': env.OTEL_SERVICE_NAME || name,
      'service.version': env.APP_RELEASE || version,
      'deployment.environment.name': env.APP_ENVIRONMENT || 'production',
    }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter(), { scheduledDelayMillis: 500 })],
  });
  provider.register();
  return () => provider.shutdown();
}

module.exports = { startTelemetry };
