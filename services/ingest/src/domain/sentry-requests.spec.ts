import { durationBucket, histogramTotal } from './latency';
import { requestFromSentryTransaction, requestsFromSentrySpans } from './sentry-requests';

const ctx = { service: 'shop', receivedAt: '2026-01-01T10:00:00.000Z', fallbackId: '00000000-0000-4000-8000-000000000009' };

const transaction = (overrides: Record<string, unknown> = {}, trace: Record<string, unknown> = { op: 'http.server', status: 'ok' }) => ({
  type: 'transaction',
  event_id: '8de246191e3b4a4fb1457209da842edd',
  transaction: 'GET /cart',
  release: 'shop@2.0.0',
  environment: 'production',
  start_timestamp: 1_796_156_470.25,
  timestamp: 1_796_156_470.4,
  contexts: { trace },
  ...overrides,
});

describe('requestFromSentryTransaction', () => {
  it('counts a transaction as one request of its release, lasting timestamp − start_timestamp', () => {
    const report = requestFromSentryTransaction(transaction(), ctx)!;
    expect(report).toMatchObject({ kind: 'requests', eventId: '8de24619-1e3b-4a4f-b145-7209da842edd', service: 'shop', release: 'shop@2.0.0', environment: 'production', count: 1, errors: 0 });
    expect(report.durationMsSum).toBeCloseTo(150, 3);
    expect(report.durationHistogram![durationBucket(150)]).toBe(1);
    expect(histogramTotal(report.durationHistogram!)).toBe(1);
  });

  it('reads RFC 3339 timestamps too, and counts a transaction without valid ones without a duration', () => {
    const iso = requestFromSentryTransaction(transaction({ start_timestamp: '2026-01-01T10:00:00.000Z', timestamp: '2026-01-01T10:00:00.042Z' }), ctx)!;
    expect(iso.durationMsSum).toBe(42);
    const none = requestFromSentryTransaction(transaction({ start_timestamp: 'soon', timestamp: 3 }), ctx)!;
    expect(none).toMatchObject({ count: 1, durationMsSum: 0 });
    expect(histogramTotal(none.durationHistogram!)).toBe(0);
  });

  it('fails on an HTTP status ≥ 500, else on a status other than ok/unset; a 4xx answer is not a failure', () => {
    const errors = (trace: Record<string, unknown>, extra: Record<string, unknown> = {}) => requestFromSentryTransaction(transaction(extra, trace), ctx)!.errors;
    expect(errors({ status: 'ok' })).toBe(0);
    expect(errors({})).toBe(0);
    expect(errors({ status: 'unset' })).toBe(0);
    expect(errors({ status: 'internal_error' })).toBe(1);
    expect(errors({ status: 'deadline_exceeded' })).toBe(1);
    expect(errors({ status: 'internal_error', data: { 'http.response.status_code': 503 } })).toBe(1);
    expect(errors({ status: 'ok', data: { 'http.response.status_code': 500 } })).toBe(1);
    expect(errors({ status: 'not_found', data: { 'http.response.status_code': 404 } })).toBe(0);
    expect(errors({}, { contexts: { trace: {}, response: { status_code: 502 } } })).toBe(1);
  });

  it('leaves out what it does not know and uses the fallback id without a valid event_id', () => {
    const report = requestFromSentryTransaction({ start_timestamp: 1, timestamp: 2 }, ctx)!;
    expect(report.eventId).toBe(ctx.fallbackId);
    expect(report).not.toHaveProperty('release');
    expect(report).not.toHaveProperty('environment');
    expect(requestFromSentryTransaction('nope', ctx)).toBeUndefined();
  });
});

describe('requestsFromSentrySpans', () => {
  const segment = (ms: number, status: string, httpStatus?: number, attributes: Record<string, unknown> = {}) => ({
    name: 'GET',
    span_id: 'a',
    is_segment: true,
    status,
    start_timestamp: 100,
    end_timestamp: 100 + ms / 1000,
    attributes: { ...(httpStatus ? { 'http.response.status_code': { value: httpStatus, type: 'integer' } } : {}), ...attributes },
  });
  const header = { release: 'shop@3.0.0', environment: 'production' };
  const ids = { service: 'shop', receivedAt: ctx.receivedAt, idFor: (i: number) => `id-${i}` };

  it('counts each segment span as a request of the release (attribute, else envelope header), not the child spans', () => {
    const reports = requestsFromSentrySpans(
      {
        version: 2,
        items: [
          segment(3, 'ok', 200),
          segment(150, 'ok', 200),
          segment(1, 'error', 500),
          segment(1, 'error', 404),
          { ...segment(50, 'ok'), is_segment: false },
          segment(7, 'ok', 200, { 'sentry.release': { value: 'shop@2.9.0', type: 'string' } }),
        ],
      },
      header,
      ids,
    );
    expect(reports).toHaveLength(2);
    expect(reports[0]).toMatchObject({ eventId: 'id-0', release: 'shop@3.0.0', environment: 'production', count: 4, errors: 1 });
    expect(reports[0]!.durationMsSum).toBeCloseTo(155, 3);
    expect(reports[0]!.durationHistogram![durationBucket(150)]).toBe(1);
    expect(reports[1]).toMatchObject({ eventId: 'id-1', release: 'shop@2.9.0', environment: 'production', count: 1, errors: 0 });
  });

  it('yields nothing for an item without segments or not shaped as a span container', () => {
    expect(requestsFromSentrySpans({ items: [{ ...segment(5, 'ok'), is_segment: false }] }, header, ids)).toEqual([]);
    expect(requestsFromSentrySpans({ items: 'x' }, header, ids)).toEqual([]);
    expect(requestsFromSentrySpans([], header, ids)).toEqual([]);
  });
});
