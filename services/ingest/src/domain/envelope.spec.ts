import { EnvelopeError, EnvelopeParser, parseEnvelope } from './envelope';

const limits = { maxItemBytes: 64, maxHeaderBytes: 128, maxItems: 10 };

/** Feeds `body` to a parser in chunks of `size` bytes. */
function parseInChunks(body: Buffer, size: number) {
  const parser = new EnvelopeParser(limits);
  for (let i = 0; i < body.length; i += size) parser.push(body.subarray(i, i + size));
  return parser.end();
}

describe('EnvelopeParser', () => {
  const body = Buffer.concat([
    Buffer.from('{"event_id":"9ec79c33ec9942ab8353589fcb2e04dc","dsn":"https://k@h/1"}\n'),
    Buffer.from('{"type":"attachment","length":10}\n0123\n56789\n'),
    Buffer.from('{"type":"event"}\n{"message":"hi"}\n'),
    Buffer.from('\n{"type":"session","length":2}\n{}'),
  ]);

  it.each([1, 2, 3, 7, 1000])('gives the same result whatever the chunk size (%i bytes)', (size) => {
    const parsed = parseInChunks(body, size);
    expect(parsed.header).toEqual({ event_id: '9ec79c33ec9942ab8353589fcb2e04dc', dsn: 'https://k@h/1' });
    expect(parsed.items.map((i) => [i.index, i.type, i.payload.toString()])).toEqual([
      [0, 'attachment', '0123\n56789'],
      [1, 'event', '{"message":"hi"}'],
      [2, 'session', '{}'],
    ]);
    expect(parsed.problems).toEqual([]);
  });

  it('skips an oversized item as it streams past and keeps the next one', () => {
    const big = 'x'.repeat(200);
    const parsed = parseInChunks(Buffer.from(`{}\n{"type":"event"}\n${big}\n{"type":"attachment","length":200}\n${big}\n{"type":"event"}\n{"ok":1}\n`), 16);
    expect(parsed.items.map((i) => i.payload.toString())).toEqual(['{"ok":1}']);
    expect(parsed.problems.map((p) => [p.index, p.code])).toEqual([
      [0, 'item_too_large'],
      [1, 'item_too_large'],
    ]);
  });

  it('reports a truncated length-prefixed item and keeps the items before it', () => {
    const parsed = parseEnvelope(Buffer.from('{}\n{"type":"event"}\n{"a":1}\n{"type":"event","length":50}\n{"b":2}'), limits);
    expect(parsed.items).toHaveLength(1);
    expect(parsed.problems).toEqual([expect.objectContaining({ index: 1, code: 'item_truncated' })]);
  });

  it('reports an item header that is not JSON, skips its payload line, and continues', () => {
    const parsed = parseEnvelope(Buffer.from('{}\nnot json\npayload\n{"type":"event"}\n{"a":1}\n'), limits);
    expect(parsed.items.map((i) => i.type)).toEqual(['event']);
    expect(parsed.problems).toEqual([expect.objectContaining({ index: 0, code: 'item_header_invalid' })]);
  });

  it('stops at a non-integer length (framing is lost) but keeps what came before', () => {
    const parsed = parseEnvelope(Buffer.from('{}\n{"type":"event"}\n{"a":1}\n{"type":"event","length":"x"}\n{"b":1}\n{"type":"event"}\n{"c":1}\n'), limits);
    expect(parsed.items.map((i) => i.payload.toString())).toEqual(['{"a":1}']);
    expect(parsed.problems).toEqual([expect.objectContaining({ index: 1, code: 'item_header_invalid' })]);
  });

  it('caps the number of items', () => {
    const many = Array.from({ length: 12 }, () => '{"type":"event"}\n{}\n').join('');
    const parsed = parseEnvelope(Buffer.from(`{}\n${many}`), limits);
    expect(parsed.items).toHaveLength(10);
    expect(parsed.problems).toEqual([expect.objectContaining({ code: 'too_many_items' })]);
  });

  it('rejects an empty body or a header that is not a JSON object', () => {
    expect(() => parseEnvelope(Buffer.alloc(0), limits)).toThrow(EnvelopeError);
    expect(() => parseEnvelope(Buffer.from('[1]\n'), limits)).toThrow(expect.objectContaining({ code: 'envelope_header_invalid' }));
    expect(() => parseEnvelope(Buffer.from(`{"a":"${'x'.repeat(200)}"}\n`), limits)).toThrow(expect.objectContaining({ code: 'envelope_header_too_large' }));
  });

  it('accepts CRLF line endings and an envelope with a header only', () => {
    expect(parseEnvelope(Buffer.from('{"event_id":"a"}\r\n{"type":"event"}\r\n{"x":1}\r\n'), limits).items.map((i) => i.payload.toString())).toEqual(['{"x":1}']);
    expect(parseEnvelope(Buffer.from('{}'), limits)).toEqual({ header: {}, items: [], problems: [] });
  });
});
