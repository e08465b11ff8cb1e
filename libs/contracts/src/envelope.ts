import { z } from 'zod';
import { eventCatalog, type EventDefinition } from './catalog';
import { EventContractError } from './errors';
import { eventMetadataSchema } from './metadata';
import { count, sha256Hex, timestamp } from './primitives';

/** Zod schema of the stored envelope of one event type, with its current data schema. */
export function envelopeSchemaFor(definition: EventDefinition): z.ZodType {
  const category = definition.category.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return z
    .object({
      eventId: z.uuid().describe('Unique id of the event; also the NATS `Nats-Msg-Id`.'),
      type: z.literal(definition.type),
      schemaVersion: z
        .number()
        .int()
        .min(1)
        .max(definition.schemaVersion)
        .describe('Version of `data`; older versions are brought up to date with `eventCatalog.upcast`.'),
      streamId: z.string().regex(new RegExp(`^${category}-.+$`)).describe(`The stream the event belongs to, \`${definition.category}-<id>\`.`),
      streamVersion: count.describe('Position of the event within its stream.'),
      globalPosition: z.string().regex(/^[0-9]+$/).describe('Unique position in the global log, as a decimal string (64-bit).'),
      transactionId: z
        .string()
        .regex(/^[0-9]+$/)
        .describe('The appending transaction (xid8). The global log is read in (transactionId, globalPosition) order.'),
      metadata: eventMetadataSchema,
      recordedAt: timestamp.describe('When the store appended the event (set by the store, covered by the hash).'),
      prevHash: sha256Hex.describe('`hash` of the previous event of the stream; 64 zeros for the first.'),
      hash: sha256Hex.describe('SHA-256 link of the per-stream hash chain, sha256(prevHash + ":" + streamVersion + ":" + sha256(canonical JSON of the content)).'),
      data: definition.schema,
    })
    .describe(definition.description);
}

/** JSON Schema (draft-07) of a zod schema, without `$schema`; unrepresentable parts become `{}`. */
export function toJsonSchema(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _ignored, ...json } = z.toJSONSchema(schema, { target: 'draft-7', io: 'input', unrepresentable: 'any' });
  return json;
}

/**
 * JSON Schema (draft-07) of the stored envelope of `type` with its current data schema: eventId,
 * type, schemaVersion, streamId, streamVersion, globalPosition, metadata, recordedAt, prevHash,
 * hash, data. A fresh object on every call. Throws {@link EventContractError}
 * `UNKNOWN_EVENT_TYPE` for a type the catalog does not know.
 */
export function jsonSchemaFor(type: string): object {
  const definition = eventCatalog.definition(type);
  if (definition === undefined) throw new EventContractError('UNKNOWN_EVENT_TYPE', `unknown event type "${type}"`);
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: `https://antibody.dev/schemas/events/${type}.v${definition.schemaVersion}.json`,
    title: type,
    ...toJsonSchema(envelopeSchemaFor(definition)),
  };
}

/**
 * JSON Schema (draft-07) of the data of event type `type` at its current version, as a person
 * writes it: every object refuses fields it does not name (`additionalProperties: false`), so a
 * misspelt field is an error rather than silently dropped. Refinements a JSON Schema cannot express
 * are checked by `parseEventData`. A fresh object on every call. Throws {@link EventContractError}
 * `UNKNOWN_EVENT_TYPE` for a type the catalog does not know.
 */
export function dataJsonSchemaFor(type: string): Record<string, unknown> {
  const definition = eventCatalog.definition(type);
  if (definition === undefined) throw new EventContractError('UNKNOWN_EVENT_TYPE', `unknown event type "${type}"`);
  const { $schema: _ignored, ...json } = z.toJSONSchema(definition.schema, { target: 'draft-7', io: 'output', unrepresentable: 'any' });
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: `https://antibody.dev/schemas/data/${type}.v${definition.schemaVersion}.json`,
    title: type,
    ...(definition.description ? { description: definition.description } : {}),
    ...json,
  };
}
