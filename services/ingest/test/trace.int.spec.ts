import { SpanKind } from '@opentelemetry/api';
import { startTelemetry, type Telemetry } from '@antibody/telemetry';
import { drained, envelope, incidentsOf, registerService, sentryEvent, startIngest, type TestIngest } from './support';

// The HTTP request that brought an error is the root of the incident's trace: the append of
// IncidentOpened is a child of the request's server span, and the event carries that trace.
// The append's span is made where processing runs: the memory exporter of this test sees it only
// with inline processing (the processor thread exports through a tracer provider of its own);
// the event's trace context is checked with the thread too.
describe('tracing from the ingest request', () => {
  let telemetry: Telemetry;
  let ingest: TestIngest;
  let threaded: TestIngest | undefined;

  beforeAll(async () => {
    telemetry = startTelemetry({ serviceName: 'antibody-ingest', instanceId: 'trace-test', exporter: 'memory' });
    ingest = await startIngest({ INGEST_PROCESSING: 'inline' });
  });

  afterAll(async () => {
    if (threaded) await threaded.stop();
    else await ingest.stop();
    await ingest.t.cleanup();
    await telemetry.shutdown();
  });

  it('parents the IncidentOpened append under the root server span of the request', async () => {
    const { t } = ingest;
    const service = await registerService(t.store, t.pool, t.schema);
    const res = await fetch(`${ingest.url}/api/1/envelope/`, {
      method: 'POST',
      headers: { 'x-sentry-auth': `Sentry sentry_key=${service.key}`, traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
      body: envelope({}, [{ type: 'event' }, sentryEvent()]),
    });
    expect(res.status).toBe(200);
    await drained(t.pool, t.schema);
    await telemetry.forceFlush();

    const spans = telemetry.memoryExporter!.getFinishedSpans();
    const server = spans.find((s) => s.kind === SpanKind.SERVER && s.name === 'POST /api/:projectId/envelope/');
    expect(server).toBeDefined();
    expect(server!.parentSpanContext).toBeUndefined(); // a root: the client's traceparent is not adopted
    const traceId = server!.spanContext().traceId;
    const producer = spans.find((s) => s.kind === SpanKind.PRODUCER && s.spanContext().traceId === traceId);
    expect(producer?.parentSpanContext?.spanId).toBe(server!.spanContext().spanId);

    const events = [...(await incidentsOf(t.store, t.pool, t.schema, service.name)).values()][0]!;
    expect(events[0]!.type).toBe('IncidentOpened');
    expect(events[0]!.metadata.traceparent).toMatch(new RegExp(`^00-${traceId}-`));
  });

  it('carries the request\'s trace into the incident events when processing runs in its thread', async () => {
    await ingest.stop();
    threaded = await startIngest({ INGEST_PROCESSING: 'thread' }, ingest.t);
    const { t } = threaded;
    const service = await registerService(t.store, t.pool, t.schema);
    const res = await fetch(`${threaded.url}/api/1/envelope/`, {
      method: 'POST',
      headers: { 'x-sentry-auth': `Sentry sentry_key=${service.key}` },
      body: envelope({}, [{ type: 'event' }, sentryEvent()]),
    });
    expect(res.status).toBe(200);
    await drained(t.pool, t.schema);
    await telemetry.forceFlush();
    const server = telemetry
      .memoryExporter!.getFinishedSpans()
      .filter((s) => s.kind === SpanKind.SERVER && s.name === 'POST /api/:projectId/envelope/')
      .at(-1)!;
    const events = [...(await incidentsOf(t.store, t.pool, t.schema, service.name)).values()][0]!;
    expect(events[0]!.type).toBe('IncidentOpened');
    expect(events[0]!.metadata.traceparent).toMatch(new RegExp(`^00-${server.spanContext().traceId}-`));
  });
});
