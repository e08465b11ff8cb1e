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
