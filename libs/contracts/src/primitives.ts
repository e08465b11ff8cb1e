import { z } from 'zod';

// Building blocks shared by the event data schemas. Internal: the public API exposes the event
// schemas and ids, not these helpers.

/** UTC ISO-8601 timestamp with a trailing `Z`, as `Date.prototype.toISOString()` produces. */
export const timestamp = z.iso.datetime();

/** A non-empty string. */
export const text = z.string().min(1);

/** A US-dollar amount, never negative. */
export const usd = z.number().nonnegative();

/** A probability or confidence in [0, 1]. */
export const probability = z.number().min(0).max(1);

/** A non-negative integer count. */
export const count = z.number().int().nonnegative();

/** A lowercase hex SHA-256 digest. */
export const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'expected a lowercase hex SHA-256 digest');

/** Any JSON value (objects, arrays, strings, finite numbers, booleans, null). */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

function isJsonValue(value: unknown, depth = 0): value is JsonValue {
  if (depth > 64) return false;
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return true;
  if (typeof value === 'number') return Number.isFinite(value);
  if (Array.isArray(value)) return value.every((item) => isJsonValue(item, depth + 1));
  if (typeof value === 'object') {
    // A plain object from any realm: its prototype is null or some realm's Object.prototype.
    const proto = Object.getPrototypeOf(value) as object | null;
    if (proto !== null && Object.getPrototypeOf(proto) !== null) return false;
    return Object.values(value as Record<string, unknown>).every((item) => isJsonValue(item, depth + 1));
  }
  return false;
}

// z.json() is recursive and exports as a `$ref` into `definitions`, which cannot be embedded in
// the AsyncAPI document; a custom check exports as `{}` (any JSON) instead.
/** Any JSON-safe value; exported to JSON Schema as an unconstrained schema. */
export const jsonValue = z
  .custom<JsonValue>((value) => isJsonValue(value), { message: 'expected a JSON value' })
  .meta({ description: 'Any JSON value.' });
