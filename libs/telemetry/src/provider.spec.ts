import { context, trace } from '@opentelemetry/api';
import { activeTraceId, startTelemetry, tracer, withConsumerSpan, withProducerSpan, TelemetryConfigError, type TelemetryOptions } from './index';
import { spanProcessorsFor } from './provider';
import { memoryTelemetry, resetTelemetryForTests } from './testing';

const base: TelemetryOptions = { serviceName: 'provider-spec', serviceInstanceId: 'i-1', exporter: 'none' };
const info = { system: 'antibody_store', destination: 'incident', messageId: 'e1', eventType: 'IncidentOpened' } as const;

describe('startTelemetry', () => {
  afterEach(() => resetTelemetryForTests());

  it('returns the same instance on a second call', () => {
    const first = startTelemetry(base);
    expect(startTelemetry(base)).toBe(first);
    expect(startTelemetry({ ...base, exporter: 'memory' })).toBe(first);
  });

  it("exporter 'none' exports nothing, still propagates trace ids and never throws", async () => {
    expect(spanProcessorsFor(base)).toEqual([]);
    const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    const dir = jest.spyOn(console, 'dir').mockImplementation(() => undefined);
    try {
      const telemetry = startTelemetry(base);
      expect(telemetry.memoryExporter).toBeUndefined();
      const carrier = await withProducerSpan(info, async (c) => c);
      expect(carrier.traceparent).toBeDefined();
      const traceId = await withConsumerSpan(info, carrier, async () => activeTraceId());
      expect(carrier.traceparent).toContain(traceId);
      await expect(telemetry.forceFlush()).resolves.toBeUndefined();
      await expect(telemetry.shutdown()).resolves.toBeUndefined();
      await expect(telemetry.shutdown()).resolves.toBeUndefined();
      expect(log).not.toHaveBeenCalled();
      expect(dir).not.toHaveBeenCalled();
    } finally {
      log.mockRestore();
      dir.mockRestore();
    }
  });

  it('uses a batch processor for otlp and a simple one for console and memory', () => {
    expect(spanProcessorsFor({ ...base, exporter: 'otlp', otlpEndpoint: 'http://localhost:4318/v1/traces' }).map((p) => p.constructor.name)).toEqual(['BatchSpanProcessor']);
    expect(spanProcessorsFor({ ...base, exporter: 'console' }).map((p) => p.constructor.name)).toEqual(['SimpleSpanProcessor']);
    expect(spanProcessorsFor({ ...base, exporter: 'memory' }).map((p) => p.constructor.name)).toEqual(['SimpleSpanProcessor']);
  });

  it('otlp export to an unreachable collector does not break the host', async () => {
    const telemetry = startTelemetry({ ...base, exporter: 'otlp', otlpEndpoint: 'http://127.0.0.1:9/v1/traces' });
    await withProducerSpan(info, async () => undefined);
    await expect(telemetry.forceFlush()).resolves.toBeUndefined();
    await expect(telemetry.shutdown()).resolves.toBeUndefined();
  });

  it('registers an AsyncLocalStorage context manager: the active span survives awaits', async () => {
    startTelemetry(base);
    await tracer().startActiveSpan('outer', async (span) => {
      await new Promise((resolve) => setImmediate(resolve));
      expect(activeTraceId()).toBe(span.spanContext().traceId);
      span.end();
    });
    expect(trace.getSpan(context.active())).toBeUndefined();
  });

  it('rejects invalid options with a TelemetryConfigError naming the option', () => {
    expect(() => startTelemetry({ ...base, exporter: 'jaeger' as never })).toThrow(
      expect.objectContaining({ name: 'TelemetryConfigError', code: 'TELEMETRY_CONFIG', variable: 'exporter' }),
    );
    expect(() => startTelemetry({ ...base, serviceName: ' ' })).toThrow(TelemetryConfigError);
    expect(() => startTelemetry({ ...base, exporter: 'otlp', otlpEndpoint: 'localhost:4318' })).toThrow(/otlpEndpoint/);
  });

  it('memoryTelemetry refuses to reuse a pipeline without the memory exporter', async () => {
    startTelemetry(base);
    expect(() => memoryTelemetry()).toThrow(/resetTelemetryForTests/);
    await resetTelemetryForTests();
    expect(memoryTelemetry().exporter).toBeDefined();
  });
});
