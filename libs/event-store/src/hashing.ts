import { createHash } from 'node:crypto';
import stringify from 'safe-stable-stringify';

/** prevHash of a stream's first event. */
export const GENESIS_HASH = '0'.repeat(64);

// safe-stable-stringify sorts object keys by UTF-16 code units and prints numbers and strings as
// JSON.stringify does, which for JSON-safe values is the RFC 8785 canonical form. Reading jsonb
// back yields the same values, so the canonical text survives the round trip through Postgres.
const canonicalStringify = stringify.configure({ deterministic: true, bigint: false, circularValue: Error });

/** Canonical JSON (sorted keys, no whitespace) of a JSON-safe value. Throws on cycles or bigints. */
export function canonicalJson(value: unknown): string {
  const text = canonicalStringify(value);
  if (text === undefined) throw new TypeError('value is not JSON-serialisable');
  return text;
}

/** The parts of an event that its content hash covers. */
export interface HashedContent {
  eventId: string;
  streamId: string;
  type: string;
  schemaVersion: number;
  data: unknown;
  metadata: unknown;
  recordedAt: string;
}

/** SHA-256 (hex) of the canonical JSON of an event's content. */
export function contentHash(content: HashedContent): string {
  return sha256Hex(
    canonicalJson({
      data: content.data,
      eventId: content.eventId,
      metadata: content.metadata,
      recordedAt: content.recordedAt,
      schemaVersion: content.schemaVersion,
      streamId: content.streamId,
      type: content.type,
    }),
  );
}

/**
 * The chain link: `sha256(prevHash ":" streamVersion ":" contentHash)`. The append function in
 * Postgres computes the same formula; an auditor recomputes it from the stored rows alone.
 */
export function chainHash(prevHash: string, streamVersion: number, content: string): string {
  return sha256Hex(`${prevHash}:${streamVersion}:${content}`);
}

function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
