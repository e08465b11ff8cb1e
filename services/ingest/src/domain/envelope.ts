// Sentry envelope framing (https://develop.sentry.dev/sdk/data-model/envelopes/): one JSON header
// line, then items, each an item-header line and a payload that is either `length` bytes (then an
// optional newline) or everything up to the next newline. Parsing is incremental, so an oversized
// payload is skipped as it streams past instead of being buffered.

/** Limits applied while parsing one envelope. */
export interface EnvelopeLimits {
  /** Largest payload of one item, in bytes (Sentry: 1 MiB for an event). */
  readonly maxItemBytes: number;
  /** Largest envelope or item header line, in bytes. */
  readonly maxHeaderBytes: number;
  /** Most items read from one envelope; the rest are reported as problems. */
  readonly maxItems: number;
}

/** One complete item. */
export interface EnvelopeItem {
  /** Position in the envelope, 0-based. */
  readonly index: number;
  readonly type: string;
  readonly header: Record<string, unknown>;
  readonly payload: Buffer;
}

/** Why an item was not kept. The other items are unaffected unless `fatal` says framing was lost. */
export interface ItemProblem {
  readonly index: number;
  readonly type?: string;
  readonly code: 'item_header_invalid' | 'item_too_large' | 'item_truncated' | 'too_many_items';
  readonly message: string;
}

/** What a whole envelope yielded. */
export interface ParsedEnvelope {
  readonly header: Record<string, unknown>;
  readonly items: readonly EnvelopeItem[];
  readonly problems: readonly ItemProblem[];
}

/** The envelope as a whole is unusable (bad header, not an envelope). Nothing in it can be kept. */
export class EnvelopeError extends Error {
  override readonly name = 'EnvelopeError';
  constructor(
    readonly code: 'envelope_empty' | 'envelope_header_invalid' | 'envelope_header_too_large',
    message: string,
  ) {
    super(message);
  }
}

type State =
  | { kind: 'envelope-header' }
  | { kind: 'item-header' }
  | { kind: 'payload-length'; index: number; type: string; header: Record<string, unknown>; length: number }
  | { kind: 'payload-line'; index: number; type: string; header: Record<string, unknown> }
  | { kind: 'skip-length'; remaining: number; then: 'optional-newline' }
  | { kind: 'skip-line' }
  | { kind: 'optional-newline' }
  | { kind: 'stopped' };

const NEWLINE = 0x0a;

/**
 * Incremental envelope parser: feed chunks with {@link push}, then call {@link end}.
 *
 * Guarantees: memory stays within about one item (`maxItemBytes`) plus one header line, whatever
 * the input; a problem with one item (bad header JSON, too large, truncated) is recorded in
 * `problems` and the other items are still returned. Throws {@link EnvelopeError} only when the
 * envelope header itself is missing or invalid.
 */
export class EnvelopeParser {
  private pending: Buffer = Buffer.alloc(0);
  private state: State = { kind: 'envelope-header' };
  private header: Record<string, unknown> | undefined;
  private readonly items: EnvelopeItem[] = [];
  private readonly problems: ItemProblem[] = [];
  private nextIndex = 0;

  constructor(private readonly limits: EnvelopeLimits) {}

  /** Feeds the next chunk of the (decompressed) body. */
  push(chunk: Buffer): void {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    this.drain(false);
  }

  /** Signals the end of the body and returns what was parsed. */
  end(): ParsedEnvelope {
    this.drain(true);
    if (this.header === undefined) throw new EnvelopeError('envelope_empty', 'the body is empty: expected a Sentry envelope (a JSON header line, then items)');
    return { header: this.header, items: this.items, problems: this.problems };
  }

  private drain(final: boolean): void {
    for (;;) {
      const state = this.state;
      switch (state.kind) {
        case 'stopped':
          this.pending = Buffer.alloc(0);
          return;
        case 'envelope-header': {
          const line = this.takeLine(final, this.limits.maxHeaderBytes);
          if (line === 'too-long') throw new EnvelopeError('envelope_header_too_large', `the envelope header line is longer than ${this.limits.maxHeaderBytes} bytes`);
          if (line === undefined) return;
          const text = line.toString('utf8').trim();
          if (text === '') {
            if (this.pending.length === 0 && final) return;
            continue;
          }
          const header = parseJsonObject(text);
          if (header === undefined) throw new EnvelopeError('envelope_header_invalid', 'the first line is not a JSON object: expected the envelope header, e.g. {"event_id":"…","dsn":"…"}');
          this.header = header;
          this.state = { kind: 'item-header' };
          continue;
        }
        case 'item-header': {
          const line = this.takeLine(final, this.limits.maxHeaderBytes);
          if (line === 'too-long') {
            this.problem({ index: this.nextIndex++, code: 'item_header_invalid', message: `item header longer than ${this.limits.maxHeaderBytes} bytes; the rest of the envelope was skipped` });
            this.state = { kind: 'stopped' };
            continue;
          }
          if (line === undefined) return;
          if (line.length === 0 || line.toString('utf8').trim() === '') continue; // blank line between items
          const index = this.nextIndex++;
          const header = parseJsonObject(line.toString('utf8'));
          if (header === undefined || typeof header['type'] !== 'string' || header['type'] === '') {
            // Without a valid header the payload's extent is unknown; the next line is taken as its
            // payload, which is right for the usual newline-terminated item.
            this.problem({ index, code: 'item_header_invalid', message: 'item header is not a JSON object with a "type"' });
            this.state = { kind: 'skip-line' };
            continue;
          }
          const type = header['type'];
          if (index >= this.limits.maxItems) {
            this.problem({ index, type, code: 'too_many_items', message: `more than ${this.limits.maxItems} items; the rest of the envelope was skipped` });
            this.state = { kind: 'stopped' };
            continue;
          }
          const length = header['length'];
          if (length !== undefined && length !== null) {
            if (typeof length !== 'number' || !Number.isInteger(length) || length < 0) {
              this.problem({ index, type, code: 'item_header_invalid', message: `item "length" must be a non-negative integer (got ${JSON.stringify(length)}); the rest of the envelope was skipped` });
              this.state = { kind: 'stopped' };
              continue;
            }
            if (length > this.limits.maxItemBytes) {
              this.problem({ index, type, code: 'item_too_large', message: `${type} item of ${length} bytes exceeds the ${this.limits.maxItemBytes}-byte limit` });
              this.state = { kind: 'skip-length', remaining: length, then: 'optional-newline' };
              continue;
            }
            this.state = { kind: 'payload-length', index, type, header, length };
          } else {
            this.state = { kind: 'payload-line', index, type, header };
          }
          continue;
        }
        case 'payload-length': {
          if (this.pending.length < state.length) {
            if (final) {
              this.problem({ index: state.index, type: state.type, code: 'item_truncated', message: `${state.type} item declares ${state.length} bytes but the body ends after ${this.pending.length}` });
              this.state = { kind: 'stopped' };
              continue;
            }
            return;
          }
          const payload = Buffer.from(this.pending.subarray(0, state.length));
          this.pending = this.pending.subarray(state.length);
          this.items.push({ index: state.index, type: state.type, header: state.header, payload });
          this.state = { kind: 'optional-newline' };
          continue;
        }
        case 'payload-line': {
          const line = this.takeLine(final, this.limits.maxItemBytes);
          if (line === 'too-long') {
            this.problem({ index: state.index, type: state.type, code: 'item_too_large', message: `${state.type} item exceeds the ${this.limits.maxItemBytes}-byte limit` });
            this.state = { kind: 'skip-line' };
            continue;
          }
          if (line === undefined) {
            if (final && this.pending.length === 0) {
              // An item header at the very end with an empty payload.
              this.items.push({ index: state.index, type: state.type, header: state.header, payload: Buffer.alloc(0) });
              this.state = { kind: 'stopped' };
              continue;
            }
            return;
          }
          this.items.push({ index: state.index, type: state.type, header: state.header, payload: Buffer.from(line) });
          this.state = { kind: 'item-header' };
          continue;
        }
        case 'skip-length': {
          const skipped = Math.min(state.remaining, this.pending.length);
          this.pending = this.pending.subarray(skipped);
          const remaining = state.remaining - skipped;
          if (remaining > 0) {
            this.state = { ...state, remaining };
            if (final) this.state = { kind: 'stopped' };
            else return;
            continue;
          }
          this.state = { kind: 'optional-newline' };
          continue;
        }
        case 'skip-line': {
          const at = this.pending.indexOf(NEWLINE);
          if (at < 0) {
            this.pending = Buffer.alloc(0);
            if (final) this.state = { kind: 'stopped' };
            return;
          }
          this.pending = this.pending.subarray(at + 1);
          this.state = { kind: 'item-header' };
          continue;
        }
        case 'optional-newline': {
          if (this.pending.length === 0) {
            if (final) this.state = { kind: 'stopped' };
            else return;
            continue;
          }
          if (this.pending[0] === NEWLINE) this.pending = this.pending.subarray(1);
          this.state = { kind: 'item-header' };
          continue;
        }
        default: {
          const unreachable: never = state;
          throw new Error(`unknown parser state ${JSON.stringify(unreachable)}`);
        }
      }
    }
  }

  /** The next line without its newline; at the end of input, the rest. `too-long` past `max` bytes. */
  private takeLine(final: boolean, max: number): Buffer | 'too-long' | undefined {
    const at = this.pending.indexOf(NEWLINE);
    if (at < 0) {
      if (this.pending.length > max) return 'too-long';
      if (final && this.pending.length > 0) {
        const rest = this.pending;
        this.pending = Buffer.alloc(0);
        return rest;
      }
      return undefined;
    }
    if (at > max) return 'too-long';
    const line = this.pending.subarray(0, at);
    this.pending = this.pending.subarray(at + 1);
    return line[line.length - 1] === 0x0d ? line.subarray(0, line.length - 1) : line;
  }

  private problem(problem: ItemProblem): void {
    this.problems.push(problem);
  }
}

/** Parses `text` as a JSON object; undefined for anything else. */
export function parseJsonObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Parses a whole envelope held in memory (tests, small bodies). */
export function parseEnvelope(body: Buffer, limits: EnvelopeLimits): ParsedEnvelope {
  const parser = new EnvelopeParser(limits);
  parser.push(body);
  return parser.end();
}
