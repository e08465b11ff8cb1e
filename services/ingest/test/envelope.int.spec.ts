import { randomUUID } from 'node:crypto';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { drained, envelope, incidentsOf, registerService, sentryEvent, startIngest, type TestIngest } from './support';

// The Sentry envelope endpoint against a real Postgres: auth, encodings, limits, bad input.
describe('POST /api/:projectId/envelope/', () => {
  let ingest: TestIngest;
  let service: { name: string; key: string; keyId: string };

  beforeAll(async () => {
    ingest = await startIngest({ INGEST_MAX_BODY_BYTES: 2 * 1024 * 1024, INGEST_MAX_DECOMPRESSED_BYTES: 3 * 1024 * 1024 });
    service = await registerService(ingest.t.store, ingest.t.pool, ingest.t.schema);
  });

  afterAll(async () => {
    await ingest.stop();
    await ingest.t.cleanup();
  });

  const post = (path: string, body: Buffer | string, headers: Record<string, string> = {}) =>
    fetch(`${ingest.url}${path}`, { method: 'POST', body, headers });
  const auth = () => ({ 'x-sentry-auth': `Sentry sentry_version=7, sentry_key=${service.key}, sentry_client=test/1.0` });
  const storedIds = async (): Promise<string[]> =>
    (await ingest.t.pool.query<{ id: string }>(`SELECT id FROM "${ingest.t.schema}".ingest_intake_ids WHERE service = $1`, [service.name])).rows.map((r) => r.id.replace(/-/g, ''));

  it('accepts an event with and without the trailing slash, authenticated by header, query or envelope dsn, with any content type', async () => {
    const ids: string[] = [];
    const send = async (path: string, headers: Record<string, string>, dsn?: string) => {
      const event = sentryEvent();
      ids.push(event['event_id'] as string);
      const res = await post(path, envelope({ event_id: event['event_id'], ...(dsn ? { dsn } : {}) }, [{ type: 'event' }, event]), headers);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ id: event['event_id'] });
    };
    await send('/api/1/envelope/', { ...auth(), 'content-type': 'application/x-sentry-envelope' });
    await send('/api/1/envelope', { ...auth(), 'content-type': 'application/json' });
    await send(`/api/7/envelope/?sentry_key=${service.key}&sentry_version=7`, { 'content-type': 'text/plain' });
    await send('/api/1/envelope/', {}, `http://${service.key}@127.0.0.1:${ingest.port}/1`);
    // Acknowledged means stored: every id is in Postgres when the 200 arrives.
    expect(await storedIds()).toEqual(expect.arrayContaining(ids));
  });

  it.each([
    ['gzip', gzipSync],
    ['deflate', deflateSync],
    ['br', brotliCompressSync],
  ] as const)('decodes %s bodies', async (encoding, compress) => {
    const event = sentryEvent();
    const res = await post('/api/1/envelope/', compress(envelope({ event_id: event['event_id'] }, [{ type: 'event' }, event])), { ...auth(), 'content-encoding': encoding });
    expect(res.status).toBe(200);
    expect(await storedIds()).toContain(event['event_id']);
  });

  it('parses length-prefixed items and skips unknown item types', async () => {
    const event = sentryEvent();
    const payload = Buffer.from(JSON.stringify(event));
    const attachment = Buffer.from('binary\nwith\nnewlines');
    const body = Buffer.concat([
      Buffer.from(`${JSON.stringify({ event_id: event['event_id'] })}\n`),
      Buffer.from(`${JSON.stringify({ type: 'attachment', length: attachment.length, filename: 'a.txt' })}\n`),
      attachment,
      Buffer.from('\n'),
      Buffer.from(`${JSON.stringify({ type: 'event', length: payload.length })}\n`),
      payload, // no trailing newline at the end of the envelope
    ]);
    const res = await post('/api/1/envelope/', body, auth());
    expect(res.status).toBe(200);
    expect(await storedIds()).toContain(event['event_id']);
  });

  it('answers 401 without a key and 403 with an unknown or revoked one', async () => {
    const body = envelope({}, [{ type: 'event' }, sentryEvent()]);
    const missing = await post('/api/1/envelope/', body);
    expect(missing.status).toBe(401);
    expect(await missing.json()).toMatchObject({ error: 'missing_key' });
    const wrong = await post('/api/1/envelope/', body, { 'x-sentry-auth': 'Sentry sentry_key=0123456789abcdef0123456789abcdef' });
    expect(wrong.status).toBe(403);
    expect(await wrong.json()).toMatchObject({ error: 'unknown_key' });
    const badDsn = await post('/api/1/envelope/', envelope({ dsn: 'http://nope@host/1' }, [{ type: 'event' }, sentryEvent()]));
    expect(badDsn.status).toBe(403);

    const revoked = await registerService(ingest.t.store, ingest.t.pool, ingest.t.schema);
    await ingest.t.store.appendToStream(`service-${revoked.name}`, [
      { type: 'IngestKeyRevoked', data: { keyId: revoked.keyId, project: revoked.name, reason: 'leaked' }, metadata: { correlationId: revoked.name, causationId: null, producer: { service: 'test', instance: '1' }, occurredAt: new Date().toISOString() } },
    ]);
    const deadline = Date.now() + 15_000;
    let status = 0;
    while (Date.now() < deadline) {
      status = (await post('/api/1/envelope/', body, { 'x-sentry-auth': `Sentry sentry_key=${revoked.key}` })).status;
      if (status === 403) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(status).toBe(403);
  });

  it('keeps the valid items of an envelope whose other items are bad, and says which were rejected', async () => {
    const good = sentryEvent();
    const body = Buffer.concat([
      Buffer.from(`${JSON.stringify({ event_id: good['event_id'] })}\n`),
      Buffer.from('{"type":"event"}\n{not json\n'),
      Buffer.from(`{"type":"event"}\n${JSON.stringify(good)}\n`),
      Buffer.from('{"type":"event"}\n'),
      Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d, 0x0a]), // {"a":"\xff\xfe"} invalid UTF-8
      Buffer.from('this is not an item header\nnor a payload\n'),
    ]);
    const res = await post('/api/1/envelope/', body, auth());
    expect(res.status).toBe(400);
    const answer = (await res.json()) as { accepted: number; rejected: Array<{ index: number; message: string }>; detail: string };
    expect(answer.accepted).toBe(1);
    expect(answer.rejected.map((r) => r.index)).toEqual([0, 2, 3]);
    expect(answer.detail).toContain('not valid UTF-8');
    expect(await storedIds()).toContain(good['event_id']);
  });

  it('handles wrong length fields without losing the items before them', async () => {
    const good = sentryEvent();
    const truncated = Buffer.concat([
      Buffer.from('{}\n'),
      Buffer.from(`{"type":"event"}\n${JSON.stringify(good)}\n`),
      Buffer.from('{"type":"event","length":100000}\n{"short":true}\n'),
    ]);
    const res = await post('/api/1/envelope/', truncated, auth());
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ accepted: 1, rejected: [{ index: 1, code: 'item_truncated' }] });
    expect(await storedIds()).toContain(good['event_id']);

    const negative = await post('/api/1/envelope/', Buffer.from('{}\n{"type":"event","length":-5}\n{}\n'), auth());
    expect(negative.status).toBe(400);
    expect(await negative.json()).toMatchObject({ rejected: [{ code: 'item_header_invalid' }] });
  });

  it('rejects a malformed envelope header, an empty body and bad JSON with 400', async () => {
    for (const body of ['not an envelope', '', '[1,2,3]\n{"type":"event"}\n{}']) {
      const res = await post('/api/1/envelope/', body, auth());
      expect(res.status).toBe(400);
      expect(((await res.json()) as { detail: string }).detail).toMatch(/envelope|empty/);
    }
  });

  it('answers 413 for an event item over 1 MiB, a body over the limit and a gzip bomb', async () => {
    const huge = sentryEvent({ extra: { blob: 'x'.repeat(1024 * 1024 + 10) } });
    const big = await post('/api/1/envelope/', envelope({}, [{ type: 'event' }, huge]), auth());
    expect(big.status).toBe(413);
    expect(await big.json()).toMatchObject({ error: 'item_too_large' });

    const tooLong = await post('/api/1/envelope/', Buffer.alloc(2 * 1024 * 1024 + 1, 0x20), auth());
    expect(tooLong.status).toBe(413);
    expect(await tooLong.json()).toMatchObject({ error: 'body_too_large' });

    // A valid envelope whose attachment is 64 MiB of zeros (64 KiB gzipped): the decompressed-size
    // cap (3 MiB here) stops it while it streams.
    const zeros = 64 * 1024 * 1024;
    const bomb = gzipSync(Buffer.concat([Buffer.from(`{}\n{"type":"attachment","length":${zeros}}\n`), Buffer.alloc(zeros)]), { level: 9 });
    expect(bomb.length).toBeLessThan(200 * 1024);
    const res = await post('/api/1/envelope/', bomb, { ...auth(), 'content-encoding': 'gzip' });
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ error: 'decompressed_too_large' });

    const corrupt = await post('/api/1/envelope/', Buffer.from('definitely not gzip'), { ...auth(), 'content-encoding': 'gzip' });
    expect(corrupt.status).toBe(400);
    const unknown = await post('/api/1/envelope/', Buffer.from('{}'), { ...auth(), 'content-encoding': 'zstd-ish' });
    expect(unknown.status).toBe(415);

    expect((await fetch(`${ingest.url}/health`)).status).toBe(200);
  });

  it('answers 429 with Retry-After and X-Sentry-Rate-Limits over the key limit', async () => {
    const limited = await registerService(ingest.t.store, ingest.t.pool, ingest.t.schema, { rateLimitPerMinute: 2 });
    const statuses: number[] = [];
    let last: Response | undefined;
    for (let i = 0; i < 3; i++) {
      last = await post('/api/1/envelope/', envelope({}, [{ type: 'event' }, sentryEvent()]), { 'x-sentry-auth': `Sentry sentry_key=${limited.key}` });
      statuses.push(last.status);
    }
    expect(statuses).toEqual([200, 200, 429]);
    expect(Number(last!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(last!.headers.get('x-sentry-rate-limits')).toMatch(/^\d+::key$/);
  });

  it('counts sessions and client reports per release, and accepts a retried event once', async () => {
    const event = sentryEvent({ release: 'shop@9.9.9' });
    const body = envelope(
      { event_id: event['event_id'] },
      [{ type: 'event' }, event],
      [{ type: 'session' }, { sid: randomUUID(), status: 'exited', errors: 0, attrs: { release: 'shop@9.9.9', environment: 'production' } }],
      [{ type: 'sessions' }, { attrs: { release: 'shop@9.9.9', environment: 'production' }, aggregates: [{ started: '2026-01-01T00:00:00Z', exited: 5, errored: 2, crashed: 1 }] }],
      [{ type: 'client_report' }, { timestamp: 1, discarded_events: [{ reason: 'queue_overflow', category: 'error', quantity: 3 }] }],
    );
    expect((await post('/api/1/envelope/', body, auth())).status).toBe(200);
    expect((await post('/api/1/envelope/', body, auth())).status).toBe(200); // a retry of the same envelope
    await drained(ingest.t.pool, ingest.t.schema);
    const counts = await ingest.t.pool.query(
      `SELECT sum(errors)::int AS errors, sum(sessions_ok)::int AS ok, sum(sessions_errored)::int AS errored, sum(sessions_crashed)::int AS crashed
       FROM "${ingest.t.schema}".ingest_release_counts WHERE service = $1 AND release = 'shop@9.9.9'`,
      [service.name],
    );
    expect(counts.rows[0]).toEqual({ errors: 1, ok: 6, errored: 2, crashed: 1 }); // the retry changed nothing
    const drops = await ingest.t.pool.query(`SELECT reason, category, sum(quantity)::int AS quantity FROM "${ingest.t.schema}".ingest_client_drops WHERE service = $1 GROUP BY 1, 2`, [service.name]);
    expect(drops.rows).toEqual([{ reason: 'queue_overflow', category: 'error', quantity: 3 }]);
    // Items get ids derived from the envelope's event_id, so the retry was stored once.
    const incidents = await incidentsOf(ingest.t.store, ingest.t.pool, ingest.t.schema, service.name);
    expect(incidents.size).toBe(1);
  });

  it('shows intake requests and writes in /metrics: duration by route and status, commit time and rows per write', async () => {
    const sample = (text: string, name: string, labels: readonly string[] = []): number => {
      const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && labels.every((label) => l.includes(label)));
      return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
    };
    const route = 'route="POST /api/:projectId/envelope/"';
    const before = await (await fetch(`${ingest.url}/metrics`)).text();
    const event = sentryEvent();
    expect((await post('/api/1/envelope/', envelope({ event_id: event['event_id'] }, [{ type: 'event' }, event]), auth())).status).toBe(200);
    expect((await post('/api/1/envelope/', 'not an envelope', auth())).status).toBe(400);
    const after = await (await fetch(`${ingest.url}/metrics`)).text();
    const delta = (name: string, labels: readonly string[] = []) => sample(after, name, labels) - sample(before, name, labels);
    expect(delta('antibody_http_request_duration_seconds_count', ['method="POST"', route, 'status_code="200"'])).toBe(1);
    expect(delta('antibody_http_request_duration_seconds_count', ['method="POST"', route, 'status_code="400"'])).toBe(1);
    expect(delta('antibody_ingest_intake_commit_seconds_count')).toBe(1); // the bad envelope wrote nothing
    expect(delta('antibody_ingest_intake_batch_rows_sum')).toBe(1);
    expect(delta('antibody_ingest_intake_commit_seconds_sum')).toBeGreaterThan(0);
  });
});
