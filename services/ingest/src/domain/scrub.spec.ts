import { createScrubber, FILTERED } from './scrub';

describe('createScrubber', () => {
  const scrub = createScrubber();

  it("filters values under Sentry's default sensitive keys, at any depth", () => {
    expect(scrub.value({ password: 'x', nested: { api_key: 'y', apiKey: 'z', ok: 'keep' }, Authorization: 'Bearer abc', list: [{ secret: 1 }] })).toEqual({
      password: FILTERED,
      nested: { api_key: FILTERED, apiKey: FILTERED, ok: 'keep' },
      Authorization: FILTERED,
      list: [{ secret: FILTERED }],
    });
  });

  it('removes secrets inside text, card numbers and IP addresses', () => {
    expect(scrub.text('login failed: password=hunter2 for 10.0.0.7')).toBe(`login failed: password=${FILTERED} for ${FILTERED}`);
    expect(scrub.text('Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig')).toBe(`Authorization: ${FILTERED}`);
    expect(scrub.text('charge 4111 1111 1111 1111 failed')).toBe(`charge ${FILTERED} failed`);
    expect(scrub.text('order 1234 5678 9012 3456 failed')).toBe('order 1234 5678 9012 3456 failed'); // not Luhn-valid
    expect(scrub.text('postgres://app:s3cret@db:5432/shop')).toBe(`postgres://${FILTERED}@db:5432/shop`);
    expect(scrub.text("setTag('api_token', 'tok_abc')")).toBe(`setTag('api_token', '${FILTERED}')`);
    expect(scrub.text('from 2001:db8::ff00:42:8329 and ::1 at 12:30:45')).toBe(`from ${FILTERED} and ${FILTERED} at 12:30:45`);
  });

  it('keeps ordinary messages intact', () => {
    const message = "Cannot read properties of undefined (reading 'price')";
    expect(scrub.text(message)).toBe(message);
  });

  it('is configurable per service: extra words, safe keys, keeping IPs', () => {
    const custom = createScrubber({ extraSensitiveWords: ['iban'], safeKeys: ['session_count'], removeIpAddresses: false });
    expect(custom.value({ iban: 'DE89', session_count: 3, ip: '10.0.0.1' })).toEqual({ iban: FILTERED, session_count: 3, ip: '10.0.0.1' });
  });

  it('survives hostile nesting', () => {
    let deep: Record<string, unknown> = {};
    const root = deep;
    for (let i = 0; i < 10_000; i++) deep = deep['a'] = {};
    expect(() => scrub.value(root)).not.toThrow();
  });
});

describe('createScrubber text scanning', () => {
  it('scrubs the same text the same way the first and every later time', () => {
    const scrub = createScrubber();
    const texts = ['  const total = items.reduce((s, i) => s + i.price, 0);', 'retry password=hunter2', 'from 10.1.2.3', 'from fe80::1'];
    const first = texts.map(scrub.text);
    expect(first).toEqual(['  const total = items.reduce((s, i) => s + i.price, 0);', `retry password=${FILTERED}`, `from ${FILTERED}`, `from ${FILTERED}`]);
    expect(texts.map(scrub.text)).toEqual(first);
  });

  it('still finds what each pattern needs: upper-case words, full IPv6, cards with separators', () => {
    const scrub = createScrubber();
    expect(scrub.text('PASSWORD: hunter2')).toBe(`PASSWORD: ${FILTERED}`);
    expect(scrub.text('peer 2001:0db8:85a3:0000:0000:8a2e:0370:7334 left')).toBe(`peer ${FILTERED} left`);
    expect(scrub.text('card 4111-1111-1111-1111')).toBe(`card ${FILTERED}`);
    expect(scrub.text('HTTPS://u:p@host/x')).toBe(`HTTPS://${FILTERED}@host/x`);
  });

  it('matches non-ASCII sensitive words however their letters are cased', () => {
    const scrub = createScrubber({ extraSensitiveWords: ['σήμα'] });
    expect(scrub.text('ΣΉΜΑ=abc')).toBe(`ΣΉΜΑ=${FILTERED}`);
    expect(scrub.text('ςήμα=abc')).toBe(`ςήμα=${FILTERED}`);
  });
});
