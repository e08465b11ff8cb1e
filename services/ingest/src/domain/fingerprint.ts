import { createHash } from 'node:crypto';
import type { Frame } from './stack';

/** What grouping looks at. */
export interface GroupingInput {
  readonly exceptionType: string;
  readonly message: string;
  /** Oldest call first. */
  readonly frames: readonly Frame[];
  /** A fingerprint sent by the client (Sentry `fingerprint`); `{{ default }}` expands to ours. */
  readonly clientFingerprint?: readonly string[];
}

/** The grouping result: the hash and the readable parts it was made from (for docs and debugging). */
export interface Grouping {
  readonly fingerprint: string;
  readonly basis: 'client' | 'in-app-frames' | 'all-frames' | 'message';
  readonly components: readonly string[];
  /** Where the error most likely comes from, e.g. `src/cart.ts in total`. */
  readonly culprit?: string;
}

/** At most this many frames (the innermost) take part, so deep recursion does not split groups. */
const MAX_FRAMES = 8;

/**
 * Replaces the variable parts of a message (numbers, uuids, hex ids, quoted strings, e-mails,
 * URLs, IPs, dates) with placeholders, so `User 42 not found` and `User 7 not found` group together.
 */
export function parameteriseMessage(message: string): string {
  return message
    .split('\n')[0]!
    .replace(/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi, '<uuid>')
    .replace(/\b\d{4}-\d{2}-\d{2}[T ][\d:.]+Z?\b/g, '<date>')
    .replace(/\b[\w.+-]+@[\w-]+\.[\w.-]+\b/g, '<email>')
    .replace(/\b[a-z][a-z0-9+.-]*:\/\/[^\s'"]+/gi, '<url>')
    .replace(/\b\d{1,3}(?:\.\d{1,3}){3}\b/g, '<ip>')
    .replace(/\b(?:0x)?[0-9a-f]{12,}\b/gi, '<hex>')
    .replace(/(["'`])(?:(?!\1).){0,200}\1/g, '<str>')
    .replace(/-?\b\d+(?:\.\d+)?\b/g, '<num>')
    .replace(/\s+/g, ' ')
    .trim();
}

/** A file's stable name: the module when known, else the path without directories and hashes. */
function fileKey(frame: Frame): string {
  if (frame.module) return frame.module;
  const base = frame.filename.replace(/[?#].*$/, '').split(/[\\/]/).pop() ?? frame.filename;
  // Bundler content hashes (`main.3f9a2c1b.js`) change on every build.
  return base.replace(/\.[0-9a-f]{8,}(?=\.)/i, '');
}

/** Function names lose V8 decorations that vary with call sites (`async`, `Object.`, `new`). */
function functionKey(frame: Frame): string {
  const name = frame.function ?? '';
  return name
    .replace(/^(async|new)\s+/, '')
    .replace(/^Object\./, '')
    .replace(/\s*\[as [^\]]+\]$/, '')
    .replace(/<anonymous>|\?/g, '');
}

/** Context lines lose whitespace and trailing comments, so reformatting does not split groups. */
function contextKey(frame: Frame): string {
  const line = frame.contextLine;
  if (line === undefined || line.length > 300) return '';
  return line.replace(/\/\/.*$/, '').replace(/\s+/g, '');
}

function frameComponent(frame: Frame): string {
  return [fileKey(frame), functionKey(frame), contextKey(frame)].join('|');
}

function hash(parts: readonly string[]): string {
  return createHash('sha256').update(parts.join('\n')).digest('hex').slice(0, 32);
}

/**
 * Computes the group of an error. Pure and deterministic. In order of preference:
 * 1. a client-sent fingerprint (with `{{ default }}` replaced by the computed one);
 * 2. the exception type plus, for each of the innermost in-app frames (up to 8), the module or file
 *    basename, the function name and the whitespace-normalised context line — never line or column
 *    numbers, so the same bug on another line or in another release groups together;
 * 3. with no in-app frame, the same over all frames that have a function name;
 * 4. with no usable frame, the exception type and the parameterised message.
 */
export function computeGrouping(input: GroupingInput): Grouping {
  const culprit = culpritOf(input.frames);
  const computed = computeDefault(input);
  if (input.clientFingerprint && input.clientFingerprint.length > 0) {
    const parts = input.clientFingerprint.flatMap((part) => (/^\{\{\s*default\s*\}\}$/.test(part) ? [computed.fingerprint] : [part]));
    return { fingerprint: hash(['client', ...parts]), basis: 'client', components: parts, ...(culprit ? { culprit } : {}) };
  }
  return { ...computed, ...(culprit ? { culprit } : {}) };
}

/** `src/cart.ts in total`: the crashing in-app file and the innermost named in-app function. */
export function culpritOf(frames: readonly Frame[]): string | undefined {
  const inApp = frames.filter((f) => f.inApp);
  const crashing = inApp[inApp.length - 1];
  if (!crashing) return undefined;
  const named = [...inApp].reverse().find((f) => functionKey(f) !== '');
  const file = crashing.filename.replace(/\\/g, '/');
  const at = file.lastIndexOf('/src/');
  const shown = at >= 0 ? file.slice(at + 1) : (file.split('/').pop() ?? file);
  return named?.function ? `${shown} in ${named.function}` : shown;
}

function computeDefault(input: GroupingInput): Grouping {
  const type = input.exceptionType;
  const inApp = input.frames.filter((f) => f.inApp).slice(-MAX_FRAMES);
  if (inApp.length > 0) {
    const components = [type, ...inApp.map(frameComponent)];
    return { fingerprint: hash(['frames', ...components]), basis: 'in-app-frames', components };
  }
  const named = input.frames.filter((f) => functionKey(f) !== '').slice(-MAX_FRAMES);
  if (named.length > 0) {
    const components = [type, ...named.map(frameComponent)];
    return { fingerprint: hash(['frames', ...components]), basis: 'all-frames', components };
  }
  const components = [type, parameteriseMessage(input.message)];
  return { fingerprint: hash(['message', ...components]), basis: 'message', components };
}
