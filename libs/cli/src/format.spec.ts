import type { StoredEvent } from '@antibody/event-store';
import { formatStreamHeader, formatTimelineLine, summarise, SUMMARY_MAX_CHARS } from './format';

const INCIDENT = '4f2a1c3e-0b6d-4e8f-9a1b-2c3d4e5f6a7b';
const PATCH = '7c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f';
const CAUSE = 'a3f1c9e0-1111-4222-8333-444455556666';

function stored(type: string, data: unknown, overrides: Partial<StoredEvent> = {}): StoredEvent {
  return {
    eventId: '0e1d2c3b-aaaa-4bbb-8ccc-dddddddddddd',
    type,
    schemaVersion: 1,
    data,
    streamId: `incident-${INCIDENT}`,
    streamVersion: 3,
    globalPosition: '42',
    transactionId: '900',
    metadata: {
      correlationId: INCIDENT,
      causationId: CAUSE,
      producer: { service: 'analyzer', instance: 'analyzer-1' },
      occurredAt: '2025-11-22T11:22:33.000Z',
    },
    recordedAt: '2025-11-22T11:22:33.456Z',
    prevHash: 'p'.repeat(64),
    hash: 'h'.repeat(64),
    ...overrides,
  };
}

const opened = {
  incidentId: INCIDENT,
  service: 'checkout',
  fingerprint: 'a3f1c9e0b7d64e21',
  exception: { type: 'TypeError', value: "Cannot read properties of undefined (reading 'price')" },
  firstSeen: '2025-11-22T11:22:30.000Z',
};

describe('summarise', () => {
  it('names the exception, service and fingerprint of an opened incident', () => {
    expect(summarise(stored('IncidentOpened', opened))).toBe(
      "TypeError: Cannot read properties of undefined (reading 'price') (checkout, fp a3f1c9e0)",
    );
  });

  it('shortens a long exception message inside the summary', () => {
    const summary = summarise(stored('IncidentOpened', { ...opened, exception: { type: 'TypeError', value: 'x'.repeat(300) } }));
    expect(summary).toMatch(/^TypeError: x+… \(checkout, fp a3f1c9e0\)$/);
  });

  it('picks the fields that matter for the steps of the loop', () => {
    expect(
      summarise(
        stored('DiagnosisMade', {
          rootCause: 'cart item may be undefined',
          location: { file: 'src/cart.ts', line: 12 },
          source: 'rule',
          ruleId: 'undefined-property',
          confidence: 0.9,
        }),
      ),
    ).toBe('cart item may be undefined @ src/cart.ts:12 (rule undefined-property, confidence 0.9)');
    expect(summarise(stored('RolloutStarted', { patchId: PATCH, release: 'v2', stages: [5, 25, 100] }))).toBe(
      'patch 7c1d2e3f: release v2, stages 5% -> 25% -> 100%',
    );
    expect(
      summarise(stored('StageAdvanced', { patchId: PATCH, stage: 25, evidence: { errorRate: { baseline: 0.02, canary: 0.001 } } })),
    ).toBe('patch 7c1d2e3f: canary at 25% (error rate 0.1% vs 2%)');
    expect(summarise(stored('IncidentResolved', { resolution: 'deployed', patchId: PATCH }))).toBe('deployed (patch 7c1d2e3f)');
  });

  it('falls back to the first scalar fields for an unknown type', () => {
    expect(summarise(stored('SomethingNew', { a: 'one', b: 2, nested: { c: 3 }, d: true }))).toBe('a=one b=2 d=true');
  });

  it('falls back to the generic form when known data does not match its schema', () => {
    expect(summarise(stored('IncidentOpened', { service: 'checkout', count: 3 }))).toBe('service=checkout count=3');
  });

  it(`never exceeds ${SUMMARY_MAX_CHARS} characters and stays on one line`, () => {
    const summary = summarise(stored('Other', { a: 'line one\nline two', b: 'y'.repeat(200), c: 'z'.repeat(200) }));
    expect(summary.length).toBeLessThanOrEqual(SUMMARY_MAX_CHARS);
    expect(summary).not.toContain('\n');
    expect(summary.endsWith('…')).toBe(true);
  });

  it('summarises non-object data without throwing', () => {
    expect(summarise(stored('Other', null))).toBe('null');
    expect(summarise(stored('Other', 'text'))).toBe('"text"');
  });
});

describe('formatTimelineLine', () => {
  it('shows time, version, type, producer, causation and summary', () => {
    const line = formatTimelineLine(stored('IncidentOpened', opened, { streamVersion: 0 }));
    expect(line).toMatch(
      /^2025-11-22T11:22:33\.456Z {2}#0 {4}IncidentOpened +analyzer\/analyzer-1 +<- a3f1c9e0 +TypeError: Cannot read .*\(checkout, fp a3f1c9e0\)$/,
    );
  });

  it('shows — for a root event and the stream id when asked', () => {
    const event = stored('IncidentOpened', opened, { metadata: { ...stored('X', {}).metadata, causationId: null } });
    const line = formatTimelineLine(event, { withStream: true });
    expect(line).toContain(`2025-11-22T11:22:33.456Z  incident-${INCIDENT}  #3`);
    expect(line).toMatch(/analyzer\/analyzer-1 +— +TypeError/);
  });
});

describe('formatStreamHeader', () => {
  it('names the stream, the count, the correlation and the trace id', () => {
    const traced = stored('IncidentOpened', opened, {
      metadata: { ...stored('X', {}).metadata, traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
    });
    expect(formatStreamHeader('incident-x', [traced, stored('Other', {})])).toBe(
      `stream incident-x: 2 events, correlation ${INCIDENT}, trace 0af7651916cd43dd8448eb211c80319c`,
    );
  });

  it('omits what is unknown', () => {
    expect(formatStreamHeader('incident-x', [])).toBe('stream incident-x: 0 events');
  });
});
