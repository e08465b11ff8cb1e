import { ROOT_CONTEXT, trace, type Context } from '@opentelemetry/api';
import {
  contextFromCarrier,
  currentTraceCarrier,
  extractFromHeaders,
  injectIntoHeaders,
  type HeaderGetter,
  type HeaderSetter,
} from './index';

const traceId = '0af7651916cd43dd8448eb211c80319c';
const spanId = 'b7ad6b7169203331';
const traceparent = `00-${traceId}-${spanId}-01`;

function remoteContext(): Context {
  return contextFromCarrier({ traceparent, tracestate: 'vendor=value' });
}

describe('trace carriers', () => {
  it('round-trip a context through a carrier', () => {
    const ctx = remoteContext();
    const spanContext = trace.getSpanContext(ctx);
    expect(spanContext).toMatchObject({ traceId, spanId, traceFlags: 1, isRemote: true });
    expect(currentTraceCarrier(ctx)).toEqual({ traceparent, tracestate: 'vendor=value' });
  });

  it('give an empty carrier when there is no span', () => {
    expect(currentTraceCarrier(ROOT_CONTEXT)).toEqual({});
    expect(currentTraceCarrier()).toEqual({});
  });

  it.each([
    ['missing', undefined],
    ['empty', {}],
    ['garbage', { traceparent: 'not-a-traceparent' }],
    ['all-zero trace id', { traceparent: `00-${'0'.repeat(32)}-${spanId}-01` }],
    ['wrong types', { traceparent: 42 as unknown as string }],
    ['not an object', 'x' as unknown as undefined],
  ])('ignore a %s carrier without throwing', (_label, carrier) => {
    const ctx = contextFromCarrier(carrier);
    expect(trace.getSpanContext(ctx)).toBeUndefined();
    expect(ctx).toBe(ROOT_CONTEXT);
  });
});

describe('headers', () => {
  it('round-trip through a Map-based header object', () => {
    const headers = new Map<string, string>();
    injectIntoHeaders(headers, remoteContext());
    expect(headers.get('traceparent')).toBe(traceparent);
    expect(headers.get('tracestate')).toBe('vendor=value');

    const spanContext = trace.getSpanContext(extractFromHeaders(headers));
    expect(spanContext).toMatchObject({ traceId, spanId, isRemote: true });
  });

  it('accept NATS-style headers where a missing key reads as ""', () => {
    const store = new Map<string, string>();
    const natsLike: HeaderGetter & HeaderSetter = {
      get: (k) => store.get(k) ?? '',
      set: (k, v) => void store.set(k, v),
    };
    expect(extractFromHeaders(natsLike)).toBe(ROOT_CONTEXT);
    injectIntoHeaders(natsLike, remoteContext());
    expect(trace.getSpanContext(extractFromHeaders(natsLike))?.traceId).toBe(traceId);
  });

  it('ignore an invalid traceparent header without throwing', () => {
    const headers = new Map([['traceparent', '00-zz-yy-01']]);
    expect(extractFromHeaders(headers)).toBe(ROOT_CONTEXT);
  });

  it('never throw when the header object misbehaves', () => {
    const broken = {
      get: (): string => {
        throw new Error('get failed');
      },
      set: (): void => {
        throw new Error('set failed');
      },
    };
    expect(extractFromHeaders(broken)).toBe(ROOT_CONTEXT);
    expect(() => injectIntoHeaders(broken, remoteContext())).not.toThrow();
  });

  it('write nothing when there is no span', () => {
    const headers = new Map<string, string>();
    injectIntoHeaders(headers, ROOT_CONTEXT);
    expect([...headers.keys()]).toEqual([]);
  });
});
