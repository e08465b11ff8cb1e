import {
  context,
  diag,
  isSpanContextValid,
  ROOT_CONTEXT,
  trace,
  type Context,
  type TextMapGetter,
  type TextMapSetter,
} from '@opentelemetry/api';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';

/**
 * W3C trace context as a plain, JSON-serialisable object, as stored in an event's metadata.
 * Fields hold the `traceparent` / `tracestate` header values.
 */
export interface TraceCarrier {
  traceparent?: string;
  tracestate?: string;
}

/** Write side of a header map (NATS `MsgHdrs`, `Map<string, string>`, ...). */
export interface HeaderSetter {
  set(key: string, value: string): void;
}

/** Read side of a header map. An absent header may read as `undefined` or `''` (NATS `MsgHdrs`). */
export interface HeaderGetter {
  get(key: string): string | undefined;
}

// Carriers and headers always use W3C propagation, whatever the global propagator is (or whether
// telemetry was started at all), so the wire format between services is fixed.
const traceContext = new W3CTraceContextPropagator();
const headersPropagator = new CompositePropagator({
  propagators: [traceContext, new W3CBaggagePropagator()],
});

const recordSetter: TextMapSetter<Record<string, string>> = {
  set(carrier, key, value) {
    carrier[key] = value;
  },
};

const recordGetter: TextMapGetter<TraceCarrier> = {
  keys: (carrier) => Object.keys(carrier),
  get(carrier, key) {
    if (key === 'traceparent') return nonEmpty(carrier.traceparent);
    if (key === 'tracestate') return nonEmpty(carrier.tracestate);
    return undefined;
  },
};

const headerSetter: TextMapSetter<HeaderSetter> = {
  set: (headers, key, value) => headers.set(key, value),
};

const headerGetter: TextMapGetter<HeaderGetter> = {
  keys: () => [],
  get: (headers, key) => nonEmpty(headers.get(key)),
};

/**
 * The trace context of `ctx` (default: the active context) as a carrier. Returns `{}` when that
 * context holds no valid span. Never throws.
 */
export function currentTraceCarrier(ctx?: Context): TraceCarrier {
  const raw: Record<string, string> = {};
  try {
    traceContext.inject(ctx ?? context.active(), raw, recordSetter);
  } catch (error) {
    diag.error('@antibody/telemetry: cannot inject trace context', error);
    return {};
  }
  const carrier: TraceCarrier = {};
  if (raw['traceparent']) carrier.traceparent = raw['traceparent'];
  if (raw['tracestate']) carrier.tracestate = raw['tracestate'];
  return carrier;
}

/**
 * A context whose remote parent is the span described by `carrier`, built on `ROOT_CONTEXT` (never
 * on the caller's active context). A missing carrier or an invalid `traceparent` is ignored: the
 * result is then `ROOT_CONTEXT` itself. Never throws.
 */
export function contextFromCarrier(carrier: TraceCarrier | undefined): Context {
  if (carrier === null || typeof carrier !== 'object') return ROOT_CONTEXT;
  try {
    return traceContext.extract(ROOT_CONTEXT, carrier, recordGetter);
  } catch (error) {
    diag.warn('@antibody/telemetry: ignoring unreadable trace carrier', error);
    return ROOT_CONTEXT;
  }
}

/**
 * Writes `traceparent`, `tracestate` and `baggage` for `ctx` (default: the active context) into
 * message headers. Writes nothing when there is no valid span. Never throws: a failing `set` is
 * reported through `diag` and the message goes out without trace context.
 */
export function injectIntoHeaders(headers: HeaderSetter, ctx?: Context): void {
  try {
    headersPropagator.inject(ctx ?? context.active(), headers, headerSetter);
  } catch (error) {
    diag.error('@antibody/telemetry: cannot write trace headers', error);
  }
}

/**
 * The context carried by message headers (trace context and baggage), built on `ROOT_CONTEXT`.
 * Missing or invalid headers yield `ROOT_CONTEXT`. Never throws.
 */
export function extractFromHeaders(headers: HeaderGetter): Context {
  try {
    return headersPropagator.extract(ROOT_CONTEXT, headers, headerGetter);
  } catch (error) {
    diag.warn('@antibody/telemetry: ignoring unreadable trace headers', error);
    return ROOT_CONTEXT;
  }
}

/**
 * The trace id (32 lowercase hex digits) of the active span, or `undefined` when there is none or
 * its context is invalid. Cheap and side-effect free: meant for a pino `mixin`.
 */
export function activeTraceId(): string | undefined {
  const spanContext = trace.getSpanContext(context.active());
  return spanContext && isSpanContextValid(spanContext) ? spanContext.traceId : undefined;
}

function nonEmpty(value: string | undefined): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}
