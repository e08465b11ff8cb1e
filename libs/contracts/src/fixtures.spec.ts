// Golden fixtures: libs/contracts/fixtures/<Type>.v<N>.json holds one data sample per event type
// and schema version. They pin the wire shape: a schema change that breaks one is a new version.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { antibodyEventDefinitions, eventCatalog } from './catalog';
import { toJsonSchema } from './envelope';

const FIXTURES = join(__dirname, '..', 'fixtures');
const read = (file: string): unknown => JSON.parse(readFileSync(join(FIXTURES, file), 'utf8'));
const files = readdirSync(FIXTURES).filter((file) => file.endsWith('.json'));

// Optional in the schema, yet required by `source` in the fixture (a refinement).
const CONDITIONAL: Record<string, readonly string[]> = { DiagnosisMade: ['data.ruleId'], PatchProposed: ['data.templateId'], TrafficChangeRequested: ['data.percent'] };

interface JsonSchemaNode {
  type?: string;
  properties?: Record<string, JsonSchemaNode>;
  required?: string[];
  items?: JsonSchemaNode;
}

/** Every field the fixture sets, as [path, required] pairs, walking objects and the first array item. */
function fields(schema: JsonSchemaNode, value: unknown, path: string[]): [string[], boolean][] {
  if (schema.type === 'array' && Array.isArray(value) && value.length > 0 && schema.items) {
    return fields(schema.items, value[0], [...path, '0']);
  }
  if (schema.type !== 'object' || !schema.properties || typeof value !== 'object' || value === null) return [];
  return Object.entries(schema.properties).flatMap(([key, child]) => {
    if (!(key in value)) return [];
    const here = [...path, key];
    return [[here, (schema.required ?? []).includes(key)] as [string[], boolean], ...fields(child, (value as Record<string, unknown>)[key], here)];
  });
}

function without(value: unknown, path: string[]): unknown {
  const copy = structuredClone(value) as Record<string, unknown>;
  let node: Record<string, unknown> = copy;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string, unknown>;
  delete node[path[path.length - 1]!];
  return copy;
}

describe('golden fixtures', () => {
  it('exist for every version of every event', () => {
    for (const definition of antibodyEventDefinitions) {
      for (let version = 1; version <= definition.schemaVersion; version++) {
        expect(files).toContain(`${definition.type}.v${version}.json`);
      }
    }
  });

  it('belong to a known event type and a supported version', () => {
    for (const file of files) {
      const match = /^([A-Za-z0-9]+)\.v(\d+)\.json$/.exec(file);
      expect(match).not.toBeNull();
      const definition = eventCatalog.definition(match![1]!);
      expect(definition).toBeDefined();
      expect(Number(match![2])).toBeLessThanOrEqual(definition!.schemaVersion);
    }
  });

  describe.each(files)('%s', (file) => {
    const [type, version] = file.replace(/\.json$/, '').split('.v') as [string, string];
    const schemaVersion = Number(version);
    const data = read(file);

    it('validates, and still validates once upcast to the current version', () => {
      expect(eventCatalog.validate(type, schemaVersion, data)).toEqual({ ok: true });
      const upcasted = eventCatalog.upcast(type, schemaVersion, data);
      expect(eventCatalog.validate(type, upcasted.schemaVersion, upcasted.data)).toEqual({ ok: true });
    });

    it('fails on the right path when a required field is removed, and not when an optional one is', () => {
      const definition = eventCatalog.definition(type)!;
      if (schemaVersion !== definition.schemaVersion) return; // older versions: checked by validating above
      const walked = fields(toJsonSchema(definition.schema) as JsonSchemaNode, data, []);
      expect(walked.some(([, required]) => required)).toBe(true);
      for (const [path, required] of walked) {
        const dotted = ['data', ...path].join('.');
        const result = eventCatalog.validate(type, schemaVersion, without(data, path));
        if (required || CONDITIONAL[type]?.includes(dotted)) {
          expect({ dotted, result }).toEqual({ dotted, result: expect.objectContaining({ ok: false, path: dotted }) });
        } else {
          expect({ dotted, result }).toEqual({ dotted, result: { ok: true } });
        }
      }
    });
  });
});
