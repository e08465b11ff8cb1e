import type { EventMetadata } from '@antibody/contracts';

/** Valid metadata for test events; override what a test cares about. */
export function testMetadata(overrides: Partial<EventMetadata> = {}): EventMetadata {
  return {
    correlationId: 'test-correlation',
    causationId: null,
    producer: { service: 'test', instance: 'test-1' },
    occurredAt: new Date().toISOString(),
    ...overrides,
  };
}
