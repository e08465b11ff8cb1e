import { context, diag, propagation, trace, type Tracer } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import { ATTR_SERVICE_INSTANCE_ID, ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
// Processors and exporters come from sdk-trace-node's own re-exports so that they match the
// sdk-trace-base copy NodeTracerProvider was built against.
import {
  BatchSpanProcessor,
  ConsoleSpanExporter,
  InMemorySpanExporter,
  NodeTracerProvider,
  SimpleSpanProcessor,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-node';
import { validateOptions, type TelemetryOptions } from './config';

/** Instrumentation scope name of every span this library creates. */
export const TRACER_NAME = 'antibody';

/** A running telemetry pipeline, as returned by {@link startTelemetry}. */
export interface Telemetry {
  /** The in-memory exporter; present exactly when `options.exporter === 'memory'`. */
  readonly memoryExporter?: InMemorySpanExporter;
  /** Exports every finished span now. Never rejects: export failures are reported through the OpenTelemetry `diag` logger. */
  forceFlush(): Promise<void>;
  /** Flushes and stops the pipeline; later spans are dropped. Idempotent; never rejects. */
  shutdown(): Promise<void>;
}

let active: ActiveTelemetry | undefined;

/**
 * Starts tracing for this process. Registers, globally, a `NodeTracerProvider` (resource
 * `service.name` + `service.instance.id`), the W3C trace-context and baggage propagators and an
 * AsyncLocalStorage context manager, so the active span follows `await`s.
 *
 * Idempotent per process: a second call returns the first instance and ignores its options (a
 * `diag` warning says so when they differ). Call it before anything creates spans (first line of
 * `main.ts`).
 *
 * With exporter `none` every span is still created and sampled, so trace ids reach logs and
 * propagate to downstream services; nothing is exported.
 *
 * Fails only on programmer/config errors, at start-up: throws `TelemetryConfigError` for an unknown
 * exporter, an empty service name or a malformed `otlpEndpoint`. If the OTLP exporter cannot be
 * built, it reports through `diag` and falls back to exporting nothing. Export errors at run time
 * never reach the host program.
 */
export function startTelemetry(options: TelemetryOptions): Telemetry {
  if (active) {
    if (!sameOptions(active.options, options)) {
      diag.warn(`@antibody/telemetry: already started as ${describe(active.options)}; ignoring ${describe(options)}`);
    }
    return active;
  }
  validateOptions(options);
  const memoryExporter = options.exporter === 'memory' ? new InMemorySpanExporter() : undefined;
  const provider = new NodeTracerProvider({
    resource: defaultResource().merge(
      resourceFromAttributes({
        [ATTR_SERVICE_NAME]: options.serviceName,
        [ATTR_SERVICE_INSTANCE_ID]: options.serviceInstanceId,
      }),
    ),
    spanProcessors: spanProcessorsFor(options, memoryExporter),
  });
  provider.register({
    propagator: new CompositePropagator({
      propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()],
    }),
    contextManager: new AsyncLocalStorageContextManager(),
  });
  active = new ActiveTelemetry({ ...options }, provider, memoryExporter);
  return active;
}

/**
 * The tracer for Antibody spans (`trace.getTracer('antibody')`). Safe before `startTelemetry`: the
 * OpenTelemetry API then hands out a proxy that starts recording once the provider is registered.
 */
export function tracer(): Tracer {
  return trace.getTracer(TRACER_NAME);
}

/** @internal The span processors for an exporter kind; `none` gets none. */
export function spanProcessorsFor(options: TelemetryOptions, memoryExporter?: InMemorySpanExporter): SpanProcessor[] {
  switch (options.exporter) {
    case 'none':
      return [];
    case 'memory':
      return [new SimpleSpanProcessor(memoryExporter ?? new InMemorySpanExporter())];
    case 'console':
      return [new SimpleSpanProcessor(new ConsoleSpanExporter())];
    case 'otlp':
      try {
        const exporter = new OTLPTraceExporter(options.otlpEndpoint === undefined ? {} : { url: options.otlpEndpoint });
        return [new BatchSpanProcessor(exporter)];
      } catch (error) {
        diag.error('@antibody/telemetry: cannot create the OTLP exporter; spans will not be exported', error);
        return [];
      }
    default:
      return assertNever(options.exporter);
  }
}

/**
 * @internal Shuts the pipeline down and removes every global registration so that the next
 * `startTelemetry` starts afresh. For tests (exposed through `@antibody/telemetry/testing`).
 */
export async function resetTelemetry(): Promise<void> {
  const current = active;
  active = undefined;
  if (current) await current.shutdown();
  trace.disable();
  context.disable();
  propagation.disable();
}

class ActiveTelemetry implements Telemetry {
  private stopping: Promise<void> | undefined;

  constructor(
    readonly options: Readonly<TelemetryOptions>,
    private readonly provider: NodeTracerProvider,
    readonly memoryExporter: InMemorySpanExporter | undefined,
  ) {}

  async forceFlush(): Promise<void> {
    try {
      await this.provider.forceFlush();
    } catch (error) {
      diag.error('@antibody/telemetry: flushing spans failed', error);
    }
  }

  shutdown(): Promise<void> {
    this.stopping ??= this.provider.shutdown().catch((error: unknown) => {
      diag.error('@antibody/telemetry: shutting down the tracer provider failed', error);
    });
    return this.stopping;
  }
}

function sameOptions(a: Readonly<TelemetryOptions>, b: TelemetryOptions): boolean {
  return (
    a.serviceName === b.serviceName &&
    a.serviceInstanceId === b.serviceInstanceId &&
    a.exporter === b.exporter &&
    a.otlpEndpoint === b.otlpEndpoint
  );
}

function describe(o: TelemetryOptions): string {
  return `${o.serviceName}/${o.serviceInstanceId} (exporter ${o.exporter})`;
}

function assertNever(value: never): never {
  throw new Error(`unexpected exporter kind ${String(value)}`);
}
