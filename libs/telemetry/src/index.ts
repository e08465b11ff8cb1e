/**
 * @antibody/telemetry — OpenTelemetry tracing for Antibody services: one provider per process,
 * W3C trace context through event metadata and NATS headers, and messaging spans that follow the
 * OpenTelemetry semantic conventions. Telemetry failures never break the host program.
 */
export { startTelemetry, tracer } from './provider';
export type { Telemetry } from './provider';
export { telemetryOptionsFromEnv } from './config';
export type { ExporterKind, TelemetryOptions } from './config';
export { TelemetryConfigError } from './errors';
export {
  activeTraceId,
  contextFromCarrier,
  currentTraceCarrier,
  extractFromHeaders,
  injectIntoHeaders,
} from './propagation';
export type { HeaderGetter, HeaderSetter, TraceCarrier } from './propagation';
export { withConsumerSpan, withProducerSpan } from './messaging';
export type { MessageSpanInfo } from './messaging';
