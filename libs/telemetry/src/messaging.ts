import {
  context,
  diag,
  isSpanContextValid,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Link,
  type Span,
} from '@opentelemetry/api';
import { ATTR_ERROR_TYPE } from '@opentelemetry/semantic-conventions';
import { contextFromCarrier, currentTraceCarrier, type TraceCarrier } from './propagation';
import { tracer } from './provider';
import {
  ATTR_ANTIBODY_EVENT_TYPE,
  ATTR_ANTIBODY_REPLAY,
  ATTR_ANTIBODY_STREAM_ID,
  ATTR_MESSAGING_CONSUMER_GROUP_NAME,
  ATTR_MESSAGING_DESTINATION_NAME,
  ATTR_MESSAGING_MESSAGE_ID,
  ATTR_MESSAGING_OPERATION_NAME,
  ATTR_MESSAGING_OPERATION_TYPE,
  ATTR_MESSAGING_SYSTEM,
  MESSAGING_OPERATION_TYPE_VALUE_PROCESS,
  MESSAGING_OPERATION_TYPE_VALUE_SEND,
} from './semconv';

/** What a messaging span describes (OpenTelemetry messaging semantic conventions). */
export interface MessageSpanInfo {
  /** `messaging.system`: the NATS bus or Antibody's event store. */
  system: 'nats' | 'antibody_store';
  /**
   * `messaging.destination.name` and part of the span name: a NATS subject or an event-store
   * stream category. Keep it low-cardinality (no ids in it).
   */
  destination: string;
  /** `messaging.message.id`: the event id. */
  messageId: string;
  /** `antibody.event.type`, e.g. `IncidentOpened`. */
  eventType: string;
  /** `antibody.stream.id`, when the message belongs to a stream. */
  streamId?: string;
  /** `messaging.consumer.group.name`: the durable consumer / subscription name. */
  consumerGroup?: string;
}

/**
 * Runs `fn` inside a producer span named `send <destination>` (`SpanKind.PRODUCER`,
 * `messaging.operation.type` = `send`), child of the active context, and resolves with `fn`'s
 * result. `fn` receives the producer span's carrier to store in the event's metadata (`{}` if
 * tracing is unavailable).
 *
 * If `fn` throws or rejects, the span records the exception, gets status ERROR and `error.type`,
 * and the same error is rethrown. Failures of tracing itself never reach the caller: `fn` still runs
 * exactly once.
 */
export async function withProducerSpan<T>(info: MessageSpanInfo, fn: (carrier: TraceCarrier) => Promise<T>): Promise<T> {
  const parent = context.active();
  const span = startSpan(`send ${info.destination}`, SpanKind.PRODUCER, attributesFor(info, MESSAGING_OPERATION_TYPE_VALUE_SEND), parent, []);
  if (!span) return fn({});
  const spanContext = trace.setSpan(parent, span);
  return runInSpan(span, spanContext, () => fn(currentTraceCarrier(spanContext)));
}

/**
 * Runs `fn` inside a consumer span named `process <destination>` (`SpanKind.CONSUMER`,
 * `messaging.operation.type` = `process`) and resolves with `fn`'s result. The span is active while
 * `fn` runs, so spans and messages `fn` produces join the trace.
 *
 * Normally the span is a child of the creation context in `creation` and also carries a link to
 * it, as the conventions ask. With `opts.replay` it starts a new trace (no parent) and only links
 * to the creation context, so a replay never grows the original trace; it is marked
 * `antibody.replay = true`. A missing or invalid carrier gives a new root span without a link.
 *
 * If `fn` throws or rejects, the span records the exception, gets status ERROR and `error.type`,
 * and the same error is rethrown. Failures of tracing itself never reach the caller.
 */
export async function withConsumerSpan<T>(
  info: MessageSpanInfo,
  creation: TraceCarrier | undefined,
  fn: () => Promise<T>,
  opts?: { replay?: boolean },
): Promise<T> {
  const replay = opts?.replay === true;
  const creationContext = contextFromCarrier(creation);
  const creationSpan = trace.getSpanContext(creationContext);
  const links: Link[] = creationSpan && isSpanContextValid(creationSpan) ? [{ context: creationSpan }] : [];
  const parent = replay ? ROOT_CONTEXT : creationContext;
  const attributes = attributesFor(info, MESSAGING_OPERATION_TYPE_VALUE_PROCESS);
  if (replay) attributes[ATTR_ANTIBODY_REPLAY] = true;
  const span = startSpan(`process ${info.destination}`, SpanKind.CONSUMER, attributes, parent, links);
  if (!span) return fn();
  return runInSpan(span, trace.setSpan(parent, span), fn);
}

function attributesFor(info: MessageSpanInfo, operation: 'send' | 'process'): Attributes {
  const attributes: Attributes = {
    [ATTR_MESSAGING_SYSTEM]: info.system,
    [ATTR_MESSAGING_DESTINATION_NAME]: info.destination,
    [ATTR_MESSAGING_MESSAGE_ID]: info.messageId,
    [ATTR_MESSAGING_OPERATION_TYPE]: operation,
    [ATTR_MESSAGING_OPERATION_NAME]: operation,
    [ATTR_ANTIBODY_EVENT_TYPE]: info.eventType,
  };
  if (info.streamId !== undefined) attributes[ATTR_ANTIBODY_STREAM_ID] = info.streamId;
  if (info.consumerGroup !== undefined) attributes[ATTR_MESSAGING_CONSUMER_GROUP_NAME] = info.consumerGroup;
  return attributes;
}

function startSpan(name: string, kind: SpanKind, attributes: Attributes, parent: Context, links: Link[]): Span | undefined {
  try {
    return tracer().startSpan(name, { kind, attributes, links }, parent);
  } catch (error) {
    diag.error(`@antibody/telemetry: cannot start span "${name}"`, error);
    return undefined;
  }
}

async function runInSpan<T>(span: Span, spanContext: Context, fn: () => Promise<T>): Promise<T> {
  let result: T;
  try {
    result = await context.with(spanContext, fn);
  } catch (error) {
    markFailed(span, error);
    endSpan(span);
    throw error;
  }
  endSpan(span);
  return result;
}

function markFailed(span: Span, error: unknown): void {
  try {
    if (error instanceof Error) {
      span.recordException(error);
      span.setAttribute(ATTR_ERROR_TYPE, error.name || error.constructor.name || '_OTHER');
      span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
    } else {
      span.recordException(String(error));
      span.setAttribute(ATTR_ERROR_TYPE, '_OTHER');
      span.setStatus({ code: SpanStatusCode.ERROR, message: String(error) });
    }
  } catch (telemetryError) {
    diag.error('@antibody/telemetry: cannot record an exception on a span', telemetryError);
  }
}

function endSpan(span: Span): void {
  try {
    span.end();
  } catch (error) {
    diag.error('@antibody/telemetry: cannot end a span', error);
  }
}
