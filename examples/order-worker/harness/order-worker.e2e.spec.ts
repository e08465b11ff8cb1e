// Runs order-worker as a real process with the OpenTelemetry SDK exporting OTLP/HTTP to a local
// receiver, feeds it each latent bug's job over HTTP, and checks that the receiver gets the
// exception as a span event with its type, message and an in-app frame in src/orders.js.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { freePort, waitFor } from '@antibody/testing';
import { ORDER_WORKER_BUGS } from './bugs';

const APP_DIR = join(__dirname, '..');

type AnyValue = { stringValue?: string; intValue?: number | string; boolValue?: boolean };
type KeyValue = { key: string; value: AnyValue };
interface OtlpSpan {
  name: string;
  attributes?: KeyValue[];
  events?: Array<{ name: string; attributes?: KeyValue[] }>;
}
interface Exported {
  resource: Record<string, string>;
  span: OtlpSpan;
  exception: Record<string, string>;
}

const flat = (kvs: KeyValue[] | undefined): Record<string, string> =>
  Object.fromEntries((kvs ?? []).map((kv) => [kv.key, String(kv.value.stringValue ?? kv.value.intValue ?? kv.value.boolValue ?? '')]));

describe('order-worker as a real process exporting OTLP', () => {
  let receiver: Server;
  const exceptions: Exported[] = [];
  const headers: string[] = [];
  let worker: ChildProcess | undefined;
  let output = '';
  let base = '';

  beforeAll(async () => {
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (req.url === '/v1/traces' && req.headers['content-type']?.startsWith('application/json')) {
          headers.push(String(req.headers['authorization']));
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
            resourceSpans?: Array<{ resource?: { attributes?: KeyValue[] }; scopeSpans?: Array<{ spans?: OtlpSpan[] }> }>;
          };
          for (const rs of body.resourceSpans ?? []) {
            for (const span of (rs.scopeSpans ?? []).flatMap((s) => s.spans ?? [])) {
              for (const event of span.events ?? []) {
                if (event.name === 'exception') exceptions.push({ resource: flat(rs.resource?.attributes), span, exception: flat(event.attributes) });
              }
            }
          }
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    worker = spawn(process.execPath, [join(APP_DIR, 'src', 'main.js')], {
      cwd: APP_DIR,
      env: {
        PATH: process.env['PATH'],
        PORT: String(port),
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`,
        OTEL_EXPORTER_OTLP_HEADERS: 'Authorization=Bearer test-ingest-key',
        APP_RELEASE: 'order-worker@e2e',
        APP_ENVIRONMENT: 'test',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    worker.stdout?.on('data', (c: Buffer) => (output += c.toString()));
    worker.stderr?.on('data', (c: Buffer) => (output += c.toString()));
    await waitFor(() => fetch(`${base}/health`).then((r) => r.ok, () => false), { timeoutMs: 20_000, description: `order-worker to answer /health (output: ${output})` });
  });

  afterAll(async () => {
    if (worker && worker.exitCode === null) {
      const exited = new Promise((resolve) => worker?.once('exit', resolve));
      worker.kill('SIGTERM');
      await exited;
    }
    await new Promise<void>((resolve) => receiver.close(() => resolve()));
  });

  it.each(ORDER_WORKER_BUGS)('exports "$name" as an exception span event with an in-app frame', async (bug) => {
    const id = `job-${bug.function}`;
    const res = await fetch(`${base}/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id, type: 'fulfil-order', payload: bug.payload }) });
    expect(res.status).toBe(202);

    const got = await waitFor(() => exceptions.find((e) => flat(e.span.attributes)['messaging.message.id'] === id), {
      timeoutMs: 15_000,
      description: `an exception span event for ${id} at the receiver (worker output: ${output})`,
    });
    expect(got.resource).toMatchObject({ 'service.name': 'order-worker', 'service.version': 'order-worker@e2e', 'deployment.environment.name': 'test' });
    expect(got.span.name).toBe('process fulfil-order');
    expect(got.exception['exception.type']).toBe(bug.error.name);
    expect(got.exception['exception.message']).toContain(bug.message);
    const stack = got.exception['exception.stacktrace'] ?? '';
    const firstInApp = stack.split('\n').find((line) => line.includes(join(APP_DIR, 'src')));
    expect(firstInApp).toMatch(new RegExp(`at ${bug.function} \\(.*[/\\\\]src[/\\\\]orders\\.js:\\d+:\\d+\\)`));
    const lineNo = Number(/orders\.js:(\d+):\d+\)$/.exec(firstInApp ?? '')?.[1]);
    expect(readFileSync(join(APP_DIR, 'src', 'orders.js'), 'utf8').split('\n')[lineNo - 1]).toContain(bug.line);
    expect(headers).toContain('Bearer test-ingest-key');

    const status = (await (await fetch(`${base}/jobs/${id}`)).json()) as { status: string };
    expect(status.status).toBe('failed');
  });
});
