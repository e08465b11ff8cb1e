'use strict';
// A small real application instrumented with the OpenTelemetry SDK: traces go out with the OTLP
// HTTP/protobuf exporter, logs with the OTLP HTTP/JSON exporter, both pointed at Antibody ingest.
// It serves one request that fails, records the exception on the server span and logs it.
const { trace, SpanKind, SpanStatusCode } = require('@opentelemetry/api');
const { NodeTracerProvider, BatchSpanProcessor } = require('@opentelemetry/sdk-trace-node');
const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-proto');
const { LoggerProvider, BatchLogRecordProcessor } = require('@opentelemetry/sdk-logs');
const { OTLPLogExporter } = require('@opentelemetry/exporter-logs-otlp-http');
const { resourceFromAttributes } = require('@opentelemetry/resources');

const endpoint = process.env.OTLP_ENDPOINT;
const headers = { Authorization: `Bearer ${process.env.INGEST_KEY}` };
const resource = resourceFromAttributes({
  'service.name': process.env.SERVICE_NAME,
  'service.version': process.env.APP_RELEASE,
  'deployment.environment.name': 'staging',
});

const tracerProvider = new NodeTracerProvider({
  resource,
  spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: `${endpoint}/v1/traces`, headers }))],
});
const loggerProvider = new LoggerProvider({
  resource,
  processors: [new BatchLogRecordProcessor({ exporter: new OTLPLogExporter({ url: `${endpoint}/v1/logs`, headers }) })],
});
const tracer = tracerProvider.getTracer('inventory-app');
const logger = loggerProvider.getLogger('inventory-app');

const { utilisation } = require('./build/inventory.js');

function handle(path) {
  return tracer.startActiveSpan(`GET ${path}`, { kind: SpanKind.SERVER, attributes: { 'http.request.method': 'GET', 'url.full': `https://inventory.example.com${path}?token=s3cr3t-token-value` } }, (span) => {
    try {
      return utilisation(new Map(), 'berlin', 10);
    } catch (error) {
      span.recordException(error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
      logger.emit({
        severityText: 'ERROR',
        body: 'reservation failed',
        attributes: { 'exception.type': error.name, 'exception.message': error.message, 'exception.stacktrace': error.stack },
      });
      return undefined;
    } finally {
      span.end();
    }
  });
}

async function main() {
  handle('/reservations/berlin');
  for (let i = 0; i < 3; i++) tracer.startActiveSpan('GET /health', { kind: SpanKind.SERVER }, (span) => span.end());
  await tracerProvider.shutdown();
  await loggerProvider.shutdown();
  process.stdout.write('exported\n');
}

void main();
