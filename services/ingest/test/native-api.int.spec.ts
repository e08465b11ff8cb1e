import { parse } from 'yaml';
import { drained, incidentsOf, registerService, startIngest, type TestIngest } from './support';

// The native JSON API and its OpenAPI document.
describe('POST /v1/errors and /docs', () => {
  let ingest: TestIngest;

  beforeAll(async () => {
    ingest = await startIngest();
  });

  afterAll(async () => {
    await ingest.stop();
    await ingest.t.cleanup();
  });

  it('accepts an error with a V8 stack, parses and groups it, and scrubs it', async () => {
    const { t } = ingest;
    const service = await registerService(t.store, t.pool, t.schema);
    let stack = '';
    try {
      JSON.stringify((null as unknown as { total: number }).total);
    } catch (error) {
      stack = (error as Error).stack ?? '';
    }
    const send = (release: string) =>
      fetch(`${ingest.url}/v1/errors`, {
        method: 'POST',
        headers: { 'x-antibody-key': service.key, 'content-type': 'application/json' },
        body: JSON.stringify({ message: 'Cannot read properties of null', stack, release, environment: 'production', tags: { password: 'x', region: 'eu' }, request: { url: 'https://a.example/x?api_key=abc', method: 'GET' } }),
      });
    const first = await send('app@1');
    expect(first.status).toBe(202);
    expect(((await first.json()) as { ids: string[] }).ids).toHaveLength(1);
    expect((await send('app@2')).status).toBe(202);
    await drained(t.pool, t.schema);

    const incidents = await incidentsOf(t.store, t.pool, t.schema, service.name);
    expect(incidents.size).toBe(1);
    const events = [...incidents.values()][0]!;
    // OccurrencesCounted follows once the time bucket closes (when the test crosses a bucket's end).
    expect(events.map((e) => e.type).filter((type) => type !== 'OccurrencesCounted')).toEqual(['IncidentOpened', 'ErrorRecorded', 'ErrorRecorded']);
    const sample = events[1]!.data as { exception: { type: string }; frames: Array<{ filename: string; inApp: boolean }>; tags: Record<string, string>; request: { url: string } };
    expect(sample.exception.type).toBe('TypeError');
    expect(sample.frames[sample.frames.length - 1]).toMatchObject({ filename: __filename, inApp: true });
    expect(sample.tags).toEqual({ password: '[Filtered]', region: 'eu' });
    expect(sample.request.url).toBe('https://a.example/x?api_key=[Filtered]');
  });

  it('answers bad input with one clear 4xx line', async () => {
    const { t } = ingest;
    const service = await registerService(t.store, t.pool, t.schema);
    const post = (body: string, headers: Record<string, string> = { authorization: `Bearer ${service.key}` }) => fetch(`${ingest.url}/v1/errors`, { method: 'POST', body, headers });
    const badJson = await post('{"message":');
    expect(badJson.status).toBe(400);
    expect(await badJson.json()).toMatchObject({ error: 'invalid_json' });
    const badShape = await post(JSON.stringify({ message: 42 }));
    expect(badShape.status).toBe(400);
    expect(((await badShape.json()) as { detail: string }).detail).toMatch(/message/);
    expect((await post(JSON.stringify({ message: 'x' }), {})).status).toBe(401);
    expect((await post(JSON.stringify({ message: 'x' }), { authorization: 'Bearer 00000000000000000000000000000000' })).status).toBe(403);
    expect((await fetch(`${ingest.url}/v1/errors`, { method: 'GET' })).status).toBe(405);
  });

  it('serves its OpenAPI document at /docs as JSON and YAML', async () => {
    const json = (await (await fetch(`${ingest.url}/docs`)).json()) as { openapi: string; paths: Record<string, unknown>; components: { schemas: { NativeError: { required: string[] } } } };
    expect(json.openapi).toBe('3.1.0');
    expect(Object.keys(json.paths).sort()).toEqual(['/api/{projectId}/envelope/', '/v1/errors', '/v1/logs', '/v1/releases/counts', '/v1/traces']);
    expect(json.components.schemas.NativeError.required).toEqual(['message']);
    const yaml = await fetch(`${ingest.url}/docs/openapi.yaml`);
    expect(yaml.headers.get('content-type')).toContain('yaml');
    expect(parse(await yaml.text())).toEqual(json);
  });
});
