import { randomUUID } from 'node:crypto';
import { SpanKind } from '@opentelemetry/api';
import { appendTraced } from '@antibody/bus';
import { tracer } from '@antibody/telemetry';
import { memoryTelemetry, resetTelemetryForTests, type MemoryTelemetry } from '@antibody/telemetry/testing';
import { createTestStore, waitFor, type TestStore } from '@antibody/testing';
import { jetStreamHarness, storeLogHarness, type TransportHarness } from './harness';

describe.each([
  ['JetStream', jetStreamHarness],
  ['store-log', storeLogHarness],
] as const)('one trace per incident over %s', (_name, makeHarness) => {
  let t: TestStore;
  let harness: TransportHarness;
  let telemetry: MemoryTelemetry;
  beforeEach(async () => {
    await resetTelemetryForTests();
    telemetry = memoryTelemetry('antibody-test');
    t = await createTestStore('trace');
    harness = await makeHarness(t.store);
  });
  afterEach(async () => {
    await harness.stop();
    await t.cleanup();
    await resetTelemetryForTests();
  });

  it('follows one event through two services with correct parents and links', async () => {
    const analyzer = await harness.newInstance('analyzer-1');
    const patcher = await harness.newInstance('patcher-1');
    const incidentId = randomUUID();
    const stream = `incident-${incidentId}`;
    await analyzer.consume({ durable: 'analyzer', types: ['IncidentOpened'] }, async (_event, ctx) => {
      await ctx.emit(stream, [{ type: 'DiagnosisFailed', data: { reason: 'no rule matched' } }]);
    });
    let patched = false;
    await patcher.consume({ durable: 'patcher', types: ['DiagnosisFailed'] }, async () => {
      patched = true;
    });

    // The root: what the ingest HTTP request span would be.
    const root = tracer().startSpan('POST /api/1/envelope/', { kind: SpanKind.SERVER });
    const { context, trace } = await import('@opentelemetry/api');
    await context.with(trace.setSpan(context.active(), root), () =>
      appendTraced(t.store, stream, [{ type: 'IncidentOpened', data: { incidentId, service: 'checkout', fingerprint: 'f'.repeat(32), exception: { type: 'TypeError', value: 'x' }, firstSeen: new Date().toISOString() } }], {
        producer: { service: 'ingest', instance: 'ingest-1' },
        correlationId: incidentId,
        causationId: null,
      }),
    );
    root.end();
    await waitFor(() => patched, { timeoutMs: 20_000, description: 'the patcher to handle the diagnosis' });
    await waitFor(() => telemetry.spans().filter((s) => s.kind === SpanKind.CONSUMER).length >= 2, { description: 'both consumer spans' });

    const spans = telemetry.spans();
    const traceId = root.spanContext().traceId;
    const ofTrace = spans.filter((s) => s.spanContext().traceId === traceId);
    const producers = ofTrace.filter((s) => s.kind === SpanKind.PRODUCER);
    const consumers = ofTrace.filter((s) => s.kind === SpanKind.CONSUMER);
    const ingestSend = producers.find((s) => s.attributes['antibody.event.type'] === 'IncidentOpened');
    const analyzerProcess = consumers.find((s) => s.attributes['messaging.consumer.group.name'] === 'analyzer');
    const analyzerSend = producers.find((s) => s.attributes['antibody.event.type'] === 'DiagnosisFailed');
    const patcherProcess = consumers.find((s) => s.attributes['messaging.consumer.group.name'] === 'patcher');
    for (const span of [ingestSend, analyzerProcess, analyzerSend, patcherProcess]) expect(span).toBeDefined();

    const parentOf = (s: typeof ingestSend) => s?.parentSpanContext?.spanId;
    expect(parentOf(ingestSend)).toBe(root.spanContext().spanId);
    expect(parentOf(analyzerProcess)).toBe(ingestSend?.spanContext().spanId);
    expect(analyzerProcess?.links.map((l) => l.context.spanId)).toEqual([ingestSend?.spanContext().spanId]);
    expect(parentOf(analyzerSend)).toBe(analyzerProcess?.spanContext().spanId);
    expect(parentOf(patcherProcess)).toBe(analyzerSend?.spanContext().spanId);
    expect(patcherProcess?.links.map((l) => l.context.spanId)).toEqual([analyzerSend?.spanContext().spanId]);
    // Nothing of this incident escaped into another trace.
    const stray = spans.filter((s) => s.attributes['antibody.stream.id'] === stream && s.spanContext().traceId !== traceId);
    expect(stray).toEqual([]);
  });
});
