import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv from 'ajv';
import { parse } from 'yaml';
import { buildAsyncApiDocument, CONTRACTS_VERSION, renderAsyncApiYaml } from './asyncapi';
import { renderEventCatalogMarkdown } from './catalog-doc';
import { eventCatalog } from './catalog';
import { dataJsonSchemaFor, envelopeSchemaFor, jsonSchemaFor } from './envelope';

const ROOT = join(__dirname, '..', '..', '..');

type Doc = {
  asyncapi: string;
  info: { version: string };
  channels: Record<string, { address: string; messages: Record<string, { $ref: string }> }>;
  operations: Record<string, { action: string; channel: { $ref: string }; messages: { $ref: string }[] }>;
  components: {
    schemas: Record<string, unknown>;
    messages: Record<string, { headers: { $ref: string }; payload: { required: string[]; properties: Record<string, { const?: string }> } }>;
  };
};

const doc = buildAsyncApiDocument() as Doc;

function resolve(ref: string): unknown {
  expect(ref.startsWith('#/')).toBe(true);
  return ref
    .slice(2)
    .split('/')
    .map((segment) => segment.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce<unknown>((node, segment) => (node as Record<string, unknown> | undefined)?.[segment], doc);
}

function refs(node: unknown): string[] {
  if (Array.isArray(node)) return node.flatMap(refs);
  if (typeof node !== 'object' || node === null) return [];
  return Object.entries(node).flatMap(([key, value]) => (key === '$ref' && typeof value === 'string' ? [value] : refs(value)));
}

describe('the AsyncAPI document', () => {
  it('is AsyncAPI 3.0.0 at the package version', () => {
    expect(doc.asyncapi).toBe('3.0.0');
    const pkg = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { version: string };
    expect(doc.info.version).toBe(CONTRACTS_VERSION);
    expect(CONTRACTS_VERSION).toBe(pkg.version);
  });

  it('has one channel per event, addressed by its subject, received by one operation', () => {
    expect(Object.keys(doc.channels)).toEqual(eventCatalog.definitions.map((definition) => definition.type));
    for (const { type, category } of eventCatalog.definitions) {
      expect(doc.channels[type]!.address).toBe(`antibody.${category}.${type}`);
      const operation = doc.operations[`receive${type}`]!;
      expect(operation.action).toBe('receive');
      expect(resolve(operation.channel.$ref)).toBe(doc.channels[type]);
      const message = doc.components.messages[type]!;
      expect(resolve(operation.messages[0]!.$ref)).toEqual({ $ref: `#/components/messages/${type}` });
      expect(resolve(message.headers.$ref)).toMatchObject({ properties: { 'Nats-Msg-Id': {}, traceparent: {}, tracestate: {} } });
      expect(message.payload.required).toEqual(
        expect.arrayContaining(['eventId', 'type', 'schemaVersion', 'streamId', 'streamVersion', 'globalPosition', 'metadata', 'recordedAt', 'prevHash', 'hash', 'data']),
      );
      expect(message.payload.properties['type']!.const).toBe(type);
    }
  });

  it('only refers to things it contains', () => {
    for (const ref of refs(doc)) expect({ ref, target: resolve(ref) }).toEqual({ ref, target: expect.anything() });
  });

  it('is committed, up to date, in docs/asyncapi.yaml (run `npm run asyncapi` after changing a schema)', () => {
    const committed = readFileSync(join(ROOT, 'docs', 'asyncapi.yaml'), 'utf8');
    expect(committed).toBe(renderAsyncApiYaml());
    expect(parse(committed)).toEqual(JSON.parse(JSON.stringify(doc)));
  });

  it('has an up-to-date event catalog page in docs/event-catalog.md', () => {
    expect(readFileSync(join(ROOT, 'docs', 'event-catalog.md'), 'utf8')).toBe(renderEventCatalogMarkdown());
  });
});

describe('jsonSchemaFor', () => {
  it('describes the envelope with the data of that type', () => {
    const schema = jsonSchemaFor('IncidentOpened') as { $schema: string; properties: Record<string, { const?: string; required?: string[] }> };
    expect(schema.$schema).toBe('http://json-schema.org/draft-07/schema#');
    expect(schema.properties['type']!.const).toBe('IncidentOpened');
    expect(schema.properties['data']!.required).toEqual(expect.arrayContaining(['incidentId', 'service', 'fingerprint', 'exception', 'firstSeen']));
  });

  it('throws a typed error for an unknown type', () => {
    expect(() => jsonSchemaFor('Nope')).toThrow(expect.objectContaining({ code: 'UNKNOWN_EVENT_TYPE' }));
  });

  it('matches what the runtime envelope schema accepts', () => {
    const definition = eventCatalog.definition('PatternRetired')!;
    const envelope = {
      eventId: '2b6d8f0a-4c1e-4a3b-9d5f-7e9a1c3b5d70',
      type: 'PatternRetired',
      schemaVersion: 1,
      streamId: 'pattern-c4d8e2f1-6a3b-4e9c-8d27-5b1f0a9e3c64',
      streamVersion: 3,
      globalPosition: '9007199254740993',
      metadata: {
        correlationId: 'pattern-c4d8e2f1-6a3b-4e9c-8d27-5b1f0a9e3c64',
        causationId: null,
        producer: { service: 'learning', instance: 'learning-1' },
        occurredAt: '2025-03-14T09:26:53.589Z',
      },
      recordedAt: '2025-03-14T09:26:53.601Z',
      prevHash: '0f1e2d3c4b5a69780f1e2d3c4b5a69780f1e2d3c4b5a69780f1e2d3c4b5a6978',
      transactionId: '7512',
      hash: 'a3f1c9e07b2d4c58e6f09a1b3c5d7e9f02468ace13579bdf0f1e2d3c4b5a6978',
      data: { patternId: 'c4d8e2f1-6a3b-4e9c-8d27-5b1f0a9e3c64', reason: 'Stale.' },
    };
    expect(envelopeSchemaFor(definition).safeParse(envelope).success).toBe(true);
    expect(envelopeSchemaFor(definition).safeParse({ ...envelope, streamId: 'incident-1' }).success).toBe(false);
    expect(envelopeSchemaFor(definition).safeParse({ ...envelope, globalPosition: 12 }).success).toBe(false);
  });
});

describe('dataJsonSchemaFor', () => {
  const fixture = (type: string): Record<string, unknown> => JSON.parse(readFileSync(join(__dirname, '..', 'fixtures', `${type}.v1.json`), 'utf8'));

  it('accepts what the catalog accepts and refuses fields it does not name, at any depth', () => {
    const validate = new Ajv({ allErrors: true, strict: false }).compile(dataJsonSchemaFor('ServiceRegistered'));
    const registered = fixture('ServiceRegistered');
    expect(validate(registered)).toBe(true);
    expect(validate({ ...registered, policy: { ...(registered['policy'] as object), autoDeplooy: true } })).toBe(false);
    expect(validate.errors).toEqual([expect.objectContaining({ instancePath: '/policy', keyword: 'additionalProperties', params: { additionalProperty: 'autoDeplooy' } })]);
    // Adapter settings are free-form JSON: any key is the adapter's.
    expect(validate({ ...registered, deploy: { adapter: 'none', settings: { anything: { nested: [1] } } } })).toBe(true);
  });

  it('throws a typed error for an unknown type', () => {
    expect(() => dataJsonSchemaFor('Nope')).toThrow(expect.objectContaining({ code: 'UNKNOWN_EVENT_TYPE' }));
  });
});
