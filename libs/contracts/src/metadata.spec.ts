import { eventMetadataSchema, type EventMetadata } from './metadata';

const metadata: EventMetadata = {
  correlationId: 'incident-3f1c2a9e-8b7d-4c6e-9a51-2d4f6b8e0c13',
  causationId: '2b6d8f0a-4c1e-4a3b-9d5f-7e9a1c3b5d70',
  traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
  tracestate: 'vendor=1',
  producer: { service: 'analyzer', instance: 'analyzer-7f9c-1' },
  occurredAt: '2025-03-14T09:26:53.589Z',
};

describe('eventMetadataSchema', () => {
  it('accepts complete metadata and a root event without causation or trace', () => {
    expect(eventMetadataSchema.safeParse(metadata).success).toBe(true);
    const { traceparent: _t, tracestate: _s, ...root } = metadata;
    expect(eventMetadataSchema.safeParse({ ...root, causationId: null }).success).toBe(true);
  });

  it('keeps unknown keys so newer metadata does not break older readers', () => {
    const parsed = eventMetadataSchema.parse({ ...metadata, tenant: 'acme' });
    expect(parsed).toMatchObject({ tenant: 'acme' });
  });

  it.each([
    ['correlationId', { correlationId: '' }],
    ['causationId', { causationId: 'not-a-uuid' }],
    ['traceparent', { traceparent: '4bf92f3577b34da6a3ce929d0e0e4736' }],
    ['producer', { producer: { service: 'analyzer' } }],
    ['occurredAt', { occurredAt: '14/03/2025' }],
  ])('rejects a bad %s', (field, patch) => {
    const parsed = eventMetadataSchema.safeParse({ ...metadata, ...patch });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.path[0]).toBe(field);
  });

  it('requires causationId to be present, even if null', () => {
    const { causationId: _c, ...withoutCausation } = metadata;
    expect(eventMetadataSchema.safeParse(withoutCausation).success).toBe(false);
  });
});
