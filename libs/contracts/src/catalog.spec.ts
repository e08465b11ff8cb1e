import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import {
  createEventCatalog,
  eventCatalog,
  parseEventData,
  type EventProducer,
  type VersionedEventDefinition,
} from './catalog';
import { EventContractError } from './errors';
import { eventSchemas, type EventData, type IncidentEvent } from './events';

const fixture = (type: string, version = 1): unknown =>
  JSON.parse(readFileSync(join(__dirname, '..', 'fixtures', `${type}.v${version}.json`), 'utf8'));

const PRODUCERS: readonly EventProducer[] = ['ingest', 'analyzer', 'patcher', 'validator', 'deployer', 'fleet-agent', 'learning', 'cli', 'bus', 'console'];

describe('the Antibody catalog', () => {
  it('names every event in PascalCase, once, with a one-sentence description', () => {
    const types = eventCatalog.definitions.map((definition) => definition.type);
    expect(new Set(types).size).toBe(types.length);
    for (const definition of eventCatalog.definitions) {
      expect(definition.type).toMatch(/^[A-Z][A-Za-z0-9]*$/);
      expect(definition.description).toMatch(/^[A-Z].*\.$/);
      expect(definition.schemaVersion).toBeGreaterThanOrEqual(1);
      expect(definition.producedBy.length).toBeGreaterThan(0);
      for (const producer of definition.producedBy) expect(PRODUCERS).toContain(producer);
    }
  });

  it('covers the whole loop, stream by stream', () => {
    const byCategory = (category: string) =>
      eventCatalog.definitions.filter((definition) => definition.category === category).map((definition) => definition.type);
    expect(byCategory('service')).toEqual(['ServiceRegistered', 'ServiceUpdated', 'ServicePolicyChanged', 'ServiceDeregistered', 'IngestKeyCreated', 'IngestKeyRevoked']);
    expect(byCategory('incident')).toEqual(expect.arrayContaining(['IncidentOpened', 'DiagnosisMade', 'PatchProposed', 'PatchValidated', 'RolloutCompleted', 'IncidentEscalated', 'LlmCallMetered']));
    expect(byCategory('pattern')).toEqual(['PatternLearned', 'PatternOutcomeRecorded', 'PatternRetired']);
    expect(byCategory('fleet')).toEqual(['TrafficChangeRequested', 'TrafficChanged', 'TrafficChangeRefused', 'FleetCountsReported', 'ReplicaFailed']);
    expect(byCategory('deadletter')).toEqual(['MessageDeadLettered']);
    expect(byCategory('notice')).toEqual(['NoticeRequested', 'NoticeDelivered', 'NoticeFailed']);
    expect(byCategory('token')).toEqual(['OperatorTokenCreated', 'OperatorTokenRevoked']);
    expect(byCategory('incident')).toEqual(expect.arrayContaining(['ManualResolutionRecorded', 'IncidentClosed']));
    expect(Object.keys(eventSchemas).sort()).toEqual(eventCatalog.definitions.map((definition) => definition.type).sort());
  });

  it('looks definitions up by type', () => {
    expect(eventCatalog.has('IncidentOpened')).toBe(true);
    expect(eventCatalog.has('IncidentOpen')).toBe(false);
    expect(eventCatalog.definition('PatchRejected')).toMatchObject({ category: 'incident', schemaVersion: 1, producedBy: ['validator'] });
    expect(eventCatalog.definition('Nope')).toBeUndefined();
  });
});

describe('eventCatalog.validate', () => {
  it('accepts valid data', () => {
    expect(eventCatalog.validate('IncidentOpened', 1, fixture('IncidentOpened'))).toEqual({ ok: true });
  });

  it('names an unknown type', () => {
    expect(eventCatalog.validate('IncidentOpend', 1, {})).toEqual({ ok: false, path: 'type', message: 'unknown event type "IncidentOpend"' });
  });

  it.each([0, 2, 1.5, -1])('refuses schemaVersion %p', (version) => {
    const result = eventCatalog.validate('IncidentOpened', version, fixture('IncidentOpened'));
    expect(result).toMatchObject({ ok: false, path: 'schemaVersion' });
    expect(result.ok || result.message).toContain('supported: 1..1');
  });

  it('reports the first failing field as a dotted data path with a readable message', () => {
    const { fingerprint: _f, ...data } = fixture('IncidentOpened') as Record<string, unknown>;
    expect(eventCatalog.validate('IncidentOpened', 1, data)).toEqual({
      ok: false,
      path: 'data.fingerprint',
      message: 'data.fingerprint: expected string, received undefined',
    });
  });

  it('reports paths into arrays', () => {
    const data = fixture('ErrorRecorded') as { frames: { lineno?: unknown }[] };
    data.frames[0]!.lineno = 'ninety-five';
    expect(eventCatalog.validate('ErrorRecorded', 1, data)).toEqual({
      ok: false,
      path: 'data.frames.0.lineno',
      message: 'data.frames.0.lineno: expected number, received string',
    });
  });

  it('rejects data that is not an object', () => {
    expect(eventCatalog.validate('PatternRetired', 1, null)).toMatchObject({ ok: false, path: 'data' });
  });

  it('tolerates unknown fields, so a newer producer can add optional ones', () => {
    expect(eventCatalog.validate('PatternRetired', 1, { ...(fixture('PatternRetired') as object), retiredBy: 'learning' })).toEqual({ ok: true });
  });

  it('requires the id of what produced a diagnosis or patch', () => {
    const diagnosis = { ...(fixture('DiagnosisMade') as object), source: 'llm' };
    expect(eventCatalog.validate('DiagnosisMade', 1, diagnosis)).toMatchObject({ ok: false, path: 'data.model' });
    const patch = { ...(fixture('PatchProposed') as object), source: 'pattern' };
    expect(eventCatalog.validate('PatchProposed', 1, patch)).toMatchObject({ ok: false, path: 'data.patternId' });
  });

  it.each([[new Date(0)], [Number.NaN], [() => 1], [{ nested: [undefined] }]])('rejects %p where JSON is expected', (value) => {
    const registered = fixture('ServiceRegistered') as { deploy: { settings: Record<string, unknown> } };
    registered.deploy.settings['timeout'] = value;
    expect(eventCatalog.validate('ServiceRegistered', 1, registered)).toMatchObject({ ok: false, path: 'data.deploy.settings.timeout' });
  });

  it('never stores an ingest key, only its SHA-256', () => {
    const created = { ...(fixture('IngestKeyCreated') as object), hash: 'ak_live_secret' };
    expect(eventCatalog.validate('IngestKeyCreated', 1, created)).toMatchObject({ ok: false, path: 'data.hash' });
  });
});

describe('upcasting', () => {
  // A test-only history: PatternRetired v1 had `why`, v2 renamed it `reason`, v3 added `retiredBy`.
  const v1 = z.object({ patternId: z.uuid(), why: z.string() });
  const v2 = z.object({ patternId: z.uuid(), reason: z.string() });
  const v3 = z.object({ patternId: z.uuid(), reason: z.string(), retiredBy: z.string() });
  const history: VersionedEventDefinition = {
    type: 'PatternRetired',
    schemaVersion: 3,
    category: 'pattern',
    description: 'A pattern was withdrawn from use.',
    schema: v3,
    producedBy: ['learning'],
    previousVersions: [
      { schemaVersion: 2, schema: v2, upcast: (data) => ({ ...(data as object), retiredBy: 'unknown' }) },
      {
        schemaVersion: 1,
        schema: v1,
        upcast: (data) => {
          const { why, ...rest } = data as z.infer<typeof v1>;
          return { ...rest, reason: why };
        },
      },
    ],
  };
  const catalog = createEventCatalog([history]);
  const patternId = 'c4d8e2f1-6a3b-4e9c-8d27-5b1f0a9e3c64';

  it('runs the chain of upcasters from the stored version to the current one', () => {
    const upcasted = catalog.upcast('PatternRetired', 1, { patternId, why: 'stale' });
    expect(upcasted).toEqual({ schemaVersion: 3, data: { patternId, reason: 'stale', retiredBy: 'unknown' } });
    expect(catalog.validate('PatternRetired', 3, upcasted.data)).toEqual({ ok: true });
    expect(catalog.upcast('PatternRetired', 2, { patternId, reason: 'stale' }).data).toEqual({ patternId, reason: 'stale', retiredBy: 'unknown' });
  });

  it('validates stored data against the schema of its own version', () => {
    expect(catalog.validate('PatternRetired', 1, { patternId, why: 'stale' })).toEqual({ ok: true });
    expect(catalog.validate('PatternRetired', 1, { patternId, reason: 'stale' })).toMatchObject({ ok: false, path: 'data.why' });
    expect(catalog.validate('PatternRetired', 4, {})).toMatchObject({ ok: false, path: 'schemaVersion' });
  });

  it('returns current data unchanged', () => {
    const data = { patternId, reason: 'stale', retiredBy: 'learning' };
    expect(catalog.upcast('PatternRetired', 3, data)).toEqual({ schemaVersion: 3, data });
  });

  it('is the identity for every Antibody event today', () => {
    for (const definition of eventCatalog.definitions) {
      const data = fixture(definition.type, definition.schemaVersion);
      expect(eventCatalog.upcast(definition.type, definition.schemaVersion, data)).toEqual({ schemaVersion: definition.schemaVersion, data });
    }
  });

  it('throws a typed error for an unknown type or version', () => {
    expect(() => catalog.upcast('Nope', 1, {})).toThrow(expect.objectContaining({ code: 'UNKNOWN_EVENT_TYPE' }));
    expect(() => catalog.upcast('PatternRetired', 0, {})).toThrow(expect.objectContaining({ code: 'UNSUPPORTED_SCHEMA_VERSION' }));
  });

  it('refuses a catalog whose version chain has a gap, or a duplicate or badly named type', () => {
    expect(() => createEventCatalog([{ ...history, previousVersions: history.previousVersions.slice(0, 1) }])).toThrow(
      expect.objectContaining({ code: 'INVALID_CATALOG', message: expect.stringContaining('from schemaVersion 1') }),
    );
    expect(() => createEventCatalog([history, history])).toThrow(EventContractError);
    expect(() => createEventCatalog([{ ...history, type: 'patternRetired' }])).toThrow(/PascalCase/);
  });
});

describe('parseEventData', () => {
  it('returns typed data, without unknown keys', () => {
    const data: EventData<'IncidentOpened'> = parseEventData('IncidentOpened', 1, { ...(fixture('IncidentOpened') as object), extra: 1 });
    expect(data.fingerprint).toBe('5d41402abc4b2a76b9719d911017c592');
    expect(data).not.toHaveProperty('extra');
  });

  it('throws INVALID_EVENT_DATA naming the failing path', () => {
    expect(() => parseEventData('PatchRejected', 1, { reason: 'x' })).toThrow(
      expect.objectContaining({ name: 'EventContractError', code: 'INVALID_EVENT_DATA', message: expect.stringContaining('data.patchId') }),
    );
    expect(() => parseEventData('PatchRejected', 7, {})).toThrow(expect.objectContaining({ code: 'UNSUPPORTED_SCHEMA_VERSION' }));
  });
});

describe('typed events', () => {
  // Compile-time check that the per-stream union is discriminated and exhaustive.
  function summary(event: IncidentEvent): string {
    switch (event.type) {
      case 'IncidentOpened':
        return event.data.fingerprint;
      case 'DiagnosisMade':
        return event.data.rootCause;
      case 'ErrorRecorded':
      case 'OccurrencesCounted':
      case 'IncidentReopened':
      case 'DiagnosisFailed':
      case 'PatchProposed':
      case 'PatchFailed':
      case 'PatchValidated':
      case 'PatchRejected':
      case 'PatchUnproven':
      case 'FixCommitted':
      case 'RolloutStarted':
      case 'StageAdvanced':
      case 'RolledBack':
      case 'RolloutCompleted':
      case 'IncidentResolved':
      case 'IncidentEscalated':
      case 'DecisionRecorded':
      case 'DiagnosisRequested':
      case 'LlmCallMetered':
        return event.type;
      default: {
        const unreachable: never = event;
        return unreachable;
      }
    }
  }

  it('narrows data by type', () => {
    const data = parseEventData('DiagnosisMade', 1, fixture('DiagnosisMade'));
    expect(summary({ type: 'DiagnosisMade', data })).toContain('item.product');
  });
});
