// Captured values as JSON, for the programs the validator runs in the sandbox (the reproduction
// harness, the call recorder and the replay): DECODE_SOURCE turns the contract's encoding
// (`capturedValueSchema`: plain JSON, one-key `$` objects for what JSON cannot hold) into values;
// ENCODE_SOURCE does the reverse for recorded calls and their results. Both are plain JavaScript
// source, interpolated into those programs: data in, data out, never code.

/** Defines `decode(value, fromLocals)` and the built-in objects it may make. */
export const DECODE_SOURCE = String.raw`const INSTANCES = {
  'Intl.Segmenter': (...a) => new Intl.Segmenter(...a),
  'Intl.Collator': (...a) => new Intl.Collator(...a),
  'Intl.DateTimeFormat': (...a) => new Intl.DateTimeFormat(...a),
  'Intl.NumberFormat': (...a) => new Intl.NumberFormat(...a),
  URL: (...a) => new URL(...a),
  URLSearchParams: (...a) => new URLSearchParams(...a),
  Uint8Array: (a) => Uint8Array.from(a),
  Buffer: (text, encoding) => Buffer.from(text, encoding),
};

// Values JSON cannot hold arrive as one-key objects (see the contract's capturedValueSchema);
// Sentry's local variables mark null and undefined as '<null>' and '<undefined>'.
function decode(value, fromLocals) {
  if (fromLocals && value === '<null>') return null;
  if (fromLocals && value === '<undefined>') return undefined;
  if (Array.isArray(value)) return value.map((v) => decode(v, fromLocals));
  if (value === null || typeof value !== 'object') return value;
  const keys = Object.keys(value);
  if (keys.length === 1 && keys[0].startsWith('$')) {
    const v = value[keys[0]];
    switch (keys[0]) {
      case '$undefined': return undefined;
      case '$bigint': return BigInt(v);
      case '$number': return Number(v);
      case '$date': return new Date(v);
      case '$regexp': return new RegExp(v[0], v[1]);
      case '$map': return new Map(v.map(([k, x]) => [decode(k, fromLocals), decode(x, fromLocals)]));
      case '$set': return new Set(v.map((x) => decode(x, fromLocals)));
      case '$symbol': return Symbol(v);
      case '$nullProto': return Object.assign(Object.create(null), decode(v, fromLocals));
      case '$function': { const f = function () {}; Object.defineProperty(f, 'name', { value: String(v) }); return f; }
      case '$literal': return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, decode(x, fromLocals)]));
      case '$sparse': { const a = new Array(v.length); for (const [i, x] of Object.entries(v.items)) a[Number(i)] = decode(x, fromLocals); return a; }
      case '$instance': {
        // Only standard constructors, by name: data that names a built-in object, never code.
        const make = INSTANCES[v[0]];
        if (!make) throw new Error('cannot make an instance of ' + String(v[0]) + ' (known: ' + Object.keys(INSTANCES).join(', ') + ')');
        return make(...(v[1] || []).map((x) => decode(x, fromLocals)));
      }
      default: break;
    }
  }
  return Object.fromEntries(keys.map((k) => [k, decode(value[k], fromLocals)]));
}
`;

/**
 * Defines `encode(value, lenient)`: strict (a call's arguments) throws `Unencodable` for what the
 * encoding cannot carry back (functions, class instances, cycles); lenient (a result to compare)
 * names them instead (`{"$class": …}`, `{"$function": …}`, `{"$error": […]}`, `{"$cycle": true}`).
 */
export const ENCODE_SOURCE = String.raw`class Unencodable extends Error {}
function encode(value, lenient, seen = new Set(), depth = 0) {
  if (depth > 30) { if (lenient) return { $deep: true }; throw new Unencodable('too deep'); }
  if (value === undefined) return { $undefined: true };
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return value;
  if (typeof value === 'number') return Number.isFinite(value) && !Object.is(value, -0) ? value : { $number: Object.is(value, -0) ? '-0' : String(value) };
  if (typeof value === 'bigint') return { $bigint: String(value) };
  if (typeof value === 'symbol') return { $symbol: value.description === undefined ? '' : value.description };
  if (typeof value === 'function') { if (lenient) return { $function: value.name || '' }; throw new Unencodable('a function'); }
  if (seen.has(value)) { if (lenient) return { $cycle: true }; throw new Unencodable('a cycle'); }
  seen.add(value);
  try {
    const inner = (v) => encode(v, lenient, seen, depth + 1);
    if (Array.isArray(value)) {
      if (Object.keys(value).length !== value.length) return { $sparse: { length: value.length, items: Object.fromEntries(Object.keys(value).map((k) => [k, inner(value[k])])) } };
      return value.map(inner);
    }
    if (value instanceof Date) return { $date: Number.isNaN(value.getTime()) ? 'Invalid Date' : value.toISOString() };
    if (value instanceof RegExp) return { $regexp: [value.source, value.flags] };
    if (value instanceof Map) return { $map: [...value].map(([k, v]) => [inner(k), inner(v)]) };
    if (value instanceof Set) return { $set: [...value].map(inner) };
    if (value instanceof Error) { if (lenient) return { $error: [value.name, value.message] }; throw new Unencodable('an error object'); }
    const proto = Object.getPrototypeOf(value);
    const props = Object.fromEntries(Object.keys(value).map((k) => [k, inner(value[k])]));
    if (proto === null) return { $nullProto: props };
    if (proto !== Object.prototype) {
      if (lenient) return { $class: [(proto.constructor && proto.constructor.name) || '', props] };
      throw new Unencodable('an instance of ' + ((proto.constructor && proto.constructor.name) || 'a class'));
    }
    const keys = Object.keys(props);
    return keys.length === 1 && keys[0].startsWith('$') ? { $literal: props } : props;
  } finally {
    seen.delete(value);
  }
}`;
