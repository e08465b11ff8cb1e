import { SpanKind, SpanStatusCode, context, trace } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-node';
import { memoryTelemetry, resetTelemetryForTests, type MemoryTelemetry } from './testing';
import { activeTraceId, withConsumerSpan, withProducerSpan, type MessageSpanInfo } from './index';

const info: MessageSpanInfo = {
  system: 'nats',
  destination: 'antibody.incidents',
  messageId: 'evt-1',
  eventType: 'IncidentOpened',
  streamId: 'incident-42',
};

function named(spans: ReadableSpan[], name: string): ReadableSpan {
  const span = spans.find((s) => s.name === name);
  if (!span) throw new Error(`no span named ${name}; got ${spans.map((s) => s.name).join(', ')}`);
  return span;
}

describe('messaging spans', () => {
  let memory: MemoryTelemetry;

  beforeEach(() => {
    memory = memoryTelemetry('messaging-spec');
    memory.clear();
  });
  afterAll(() => resetTelemetryForTests());

  it('producer -> consumer through a carrier is one trace: the consumer is a child of, and links to, the producer span', async () => {
    const carrier = await withProducerSpan(info, async (c) => c);
    expect(carrier.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);

    const seenTraceId = await withConsumerSpan({ ...info, consumerGroup: 'analyzer' }, carrier, async () => activeTraceId());

    const producer = named(memory.spans(), 'send antibody.incidents');
    const consumer = named(memory.spans(), 'process antibody.incidents');
    expect(memory.spansByTrace().size).toBe(1);
    expect(consumer.spanContext().traceId).toBe(producer.spanContext().traceId);
    expect(seenTraceId).toBe(producer.spanContext().traceId);
    expect(consumer.parentSpanContext?.spanId).toBe(producer.spanContext().spanId);
    expect(consumer.links.map((l) => l.context.spanId)).toEqual([producer.spanContext().spanId]);

    expect(producer.kind).toBe(SpanKind.PRODUCER);
    expect(producer.attributes).toEqual({
      'messaging.system': 'nats',
      'messaging.destination.name': 'antibody.incidents',
      'messaging.message.id': 'evt-1',
      'messaging.operation.type': 'send',
      'messaging.operation.name': 'send',
      'antibody.event.type': 'IncidentOpened',
      'antibody.stream.id': 'incident-42',
    });
    expect(consumer.kind).toBe(SpanKind.CONSUMER);
    expect(consumer.attributes).toMatchObject({
      'messaging.operation.type': 'process',
      'messaging.operation.name': 'process',
      'messaging.consumer.group.name': 'analyzer',
    });
    expect(producer.instrumentationScope.name).toBe('antibody');
    expect(producer.resource.attributes['service.name']).toBe('messaging-spec');
  });

  it('the producer span is a child of the active span', async () => {
    await trace.getTracer('spec').startActiveSpan('ingest request', async (request) => {
      await withProducerSpan(info, async () => undefined);
      request.end();
    });
    const request = named(memory.spans(), 'ingest request');
    const producer = named(memory.spans(), 'send antibody.incidents');
    expect(producer.parentSpanContext?.spanId).toBe(request.spanContext().spanId);
  });

  it('replay starts a new trace that only links to the creation context', async () => {
    const carrier = await withProducerSpan(info, async (c) => c);
    await withConsumerSpan(info, carrier, async () => undefined, { replay: true });

    const producer = named(memory.spans(), 'send antibody.incidents');
    const replayed = named(memory.spans(), 'process antibody.incidents');
    expect(replayed.spanContext().traceId).not.toBe(producer.spanContext().traceId);
    expect(replayed.parentSpanContext).toBeUndefined();
    expect(replayed.links).toHaveLength(1);
    expect(replayed.links[0]?.context.traceId).toBe(producer.spanContext().traceId);
    expect(replayed.links[0]?.context.spanId).toBe(producer.spanContext().spanId);
    expect(replayed.attributes['antibody.replay']).toBe(true);
    expect(memory.spansByTrace().size).toBe(2);
  });

  it('a consumer without a carrier is a new root without links', async () => {
    await withConsumerSpan(info, undefined, async () => undefined);
    const consumer = named(memory.spans(), 'process antibody.incidents');
    expect(consumer.parentSpanContext).toBeUndefined();
    expect(consumer.links).toEqual([]);
  });

  it('spans started inside the consumer are its children', async () => {
    const carrier = await withProducerSpan(info, async (c) => c);
    await withConsumerSpan(info, carrier, async () => {
      await Promise.resolve();
      trace.getTracer('spec').startSpan('decide').end();
    });
    const consumer = named(memory.spans(), 'process antibody.incidents');
    const inner = named(memory.spans(), 'decide');
    expect(inner.parentSpanContext?.spanId).toBe(consumer.spanContext().spanId);
  });

  it('a failing consumer records the exception, sets status ERROR and rethrows the same error', async () => {
    const failure = new TypeError('boom');
    await expect(withConsumerSpan(info, undefined, async () => Promise.reject(failure))).rejects.toBe(failure);

    const consumer = named(memory.spans(), 'process antibody.incidents');
    expect(consumer.status).toEqual({ code: SpanStatusCode.ERROR, message: 'boom' });
    expect(consumer.attributes['error.type']).toBe('TypeError');
    expect(consumer.events.map((e) => e.name)).toEqual(['exception']);
    expect(consumer.ended).toBe(true);
  });

  it('a failing producer rethrows and still ends its span', async () => {
    await expect(withProducerSpan(info, async () => { throw 'not an Error'; })).rejects.toBe('not an Error');
    const producer = named(memory.spans(), 'send antibody.incidents');
    expect(producer.status.code).toBe(SpanStatusCode.ERROR);
    expect(producer.attributes['error.type']).toBe('_OTHER');
  });

  it('restores the outer context after the span', async () => {
    const before = context.active();
    await withProducerSpan(info, async () => undefined);
    expect(context.active()).toBe(before);
    expect(activeTraceId()).toBeUndefined();
  });
});
