/**
 * @antibody/telemetry/testing — helpers to assert traces in specs with an in-memory exporter.
 * Not for production code.
 */
import type { InMemorySpanExporter, ReadableSpan } from '@opentelemetry/sdk-trace-node';
import { resetTelemetry, startTelemetry, type Telemetry } from '../provider';

/** Handle on an in-memory telemetry pipeline. */
export interface MemoryTelemetry {
  readonly telemetry: Telemetry;
  /** Receives every span synchronously when it ends (SimpleSpanProcessor). */
  readonly exporter: InMemorySpanExporter;
  /** Finished spans so far, in the order they ended. */
  spans(): ReadableSpan[];
  /** Finished spans grouped by trace id; each group is in the order the spans ended. */
  spansByTrace(): Map<string, ReadableSpan[]>;
  /** Forgets the finished spans (e.g. in `beforeEach`). */
  clear(): void;
}

/**
 * Starts (or reuses) process telemetry with the `memory` exporter.
 *
 * @throws Error when telemetry was already started with another exporter; call
 *   {@link resetTelemetryForTests} first.
 */
export function memoryTelemetry(serviceName = 'antibody-test', serviceInstanceId = 'test'): MemoryTelemetry {
  const telemetry = startTelemetry({ serviceName, serviceInstanceId, exporter: 'memory' });
  const exporter = telemetry.memoryExporter;
  if (!exporter) {
    throw new Error(
      'memoryTelemetry(): telemetry is already running without the memory exporter; await resetTelemetryForTests() first.',
    );
  }
  return {
    telemetry,
    exporter,
    spans: () => exporter.getFinishedSpans(),
    spansByTrace: () => groupByTrace(exporter.getFinishedSpans()),
    clear: () => exporter.reset(),
  };
}

/**
 * Shuts down process telemetry and removes its global registrations (tracer provider, context
 * manager, propagator), so the next `startTelemetry` or `memoryTelemetry` starts afresh. Never
 * rejects.
 */
export function resetTelemetryForTests(): Promise<void> {
  return resetTelemetry();
}

function groupByTrace(spans: ReadableSpan[]): Map<string, ReadableSpan[]> {
  const byTrace = new Map<string, ReadableSpan[]>();
  for (const span of spans) {
    const traceId = span.spanContext().traceId;
    const group = byTrace.get(traceId);
    if (group) group.push(span);
    else byTrace.set(traceId, [span]);
  }
  return byTrace;
}
