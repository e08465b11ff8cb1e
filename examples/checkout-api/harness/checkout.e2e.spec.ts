// Runs the compiled checkout-api as a real process with the unmodified Sentry SDK, its DSN pointing
// at a local receiver that speaks Sentry's envelope endpoint, and checks that each latent bug's
// request produces an error event whose in-app frame in dist/*.js maps back to src/*.ts.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { TraceMap, originalPositionFor, sourceContentFor } from '@jridgewell/trace-mapping';
import { freePort, waitFor } from '@antibody/testing';
import { CHECKOUT_BUGS } from './bugs';

const APP_DIR = join(__dirname, '..');

interface SentryFrame {
  filename?: string;
  abs_path?: string;
  function?: string;
  lineno?: number;
  colno?: number;
  in_app?: boolean;
}
interface SentryEvent {
  release?: string;
  environment?: string;
  exception?: { values?: Array<{ type?: string; value?: string; stacktrace?: { frames?: SentryFrame[] } }> };
}

/** Splits a Sentry envelope into its items (header line, then per item a header and a payload). */
function envelopeItems(raw: Buffer): Array<{ header: Record<string, unknown>; payload: Buffer }> {
  let offset = raw.indexOf(0x0a) + 1;
  const items: Array<{ header: Record<string, unknown>; payload: Buffer }> = [];
  while (offset > 0 && offset < raw.length) {
    const headerEnd = raw.indexOf(0x0a, offset);
    const header = JSON.parse(raw.subarray(offset, headerEnd).toString('utf8')) as Record<string, unknown>;
    const start = headerEnd + 1;
    const end = typeof header['length'] === 'number' ? start + header['length'] : (raw.indexOf(0x0a, start) + 1 || raw.length + 1) - 1;
    items.push({ header, payload: raw.subarray(start, end) });
    offset = end + 1;
  }
  return items;
}

describe('checkout-api as a real process reporting to a Sentry DSN', () => {
  let receiver: Server;
  const events: Array<{ path: string; event: SentryEvent }> = [];
  let app: ChildProcess | undefined;
  let appOutput = '';
  let base = '';

  beforeAll(async () => {
    const tsc = require.resolve('typescript/bin/tsc');
    const build = spawnSync(process.execPath, [tsc, '-p', join(APP_DIR, 'tsconfig.json')], { encoding: 'utf8' });
    expect(build.stdout + build.stderr).toBe('');

    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        let body = Buffer.concat(chunks);
        if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
        for (const item of envelopeItems(body)) {
          if (item.header['type'] === 'event') events.push({ path: req.url ?? '', event: JSON.parse(item.payload.toString('utf8')) as SentryEvent });
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const receiverPort = (receiver.address() as AddressInfo).port;

    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    app = spawn(process.execPath, [join(APP_DIR, 'dist', 'main.js')], {
      cwd: APP_DIR,
      env: {
        PATH: process.env['PATH'],
        PORT: String(port),
        SENTRY_DSN: `http://0123456789abcdef0123456789abcdef@127.0.0.1:${receiverPort}/42`,
        SENTRY_RELEASE: 'checkout-api@e2e',
        SENTRY_ENVIRONMENT: 'test',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    app.stdout?.on('data', (c: Buffer) => (appOutput += c.toString()));
    app.stderr?.on('data', (c: Buffer) => (appOutput += c.toString()));
    await waitFor(() => fetch(`${base}/health`).then((r) => r.ok, () => false), { timeoutMs: 20_000, description: `checkout-api to answer /health (output: ${appOutput})` });
  });

  afterAll(async () => {
    if (app && app.exitCode === null) {
      const exited = new Promise((resolve) => app?.once('exit', resolve));
      app.kill('SIGTERM');
      await exited;
    }
    await new Promise<void>((resolve) => receiver.close(() => resolve()));
  });

  it.each(CHECKOUT_BUGS)('reports "$name" with an in-app frame that maps to src/*.ts', async (bug) => {
    const res = await fetch(base + bug.path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(bug.body) });
    expect(res.status).toBe(500);
    const { eventId } = (await res.json()) as { eventId: string };
    expect(eventId).toMatch(/^[0-9a-f]{32}$/);

    const received = await waitFor(() => events.find((e) => e.event.exception?.values?.some((v) => v.value === bug.message)), {
      timeoutMs: 15_000,
      description: `an error event "${bug.message}" at the receiver`,
    });
    expect(received.path).toMatch(/^\/api\/42\/envelope\//);
    expect(received.event.release).toBe('checkout-api@e2e');
    expect(received.event.environment).toBe('test');
    const exception = received.event.exception?.values?.find((v) => v.value === bug.message);
    expect(exception?.type).toBe(bug.error.name);

    // Sentry lists frames oldest first: the last in-app frame is where it broke.
    const frames = (exception?.stacktrace?.frames ?? []).filter((f) => f.in_app);
    const top = frames[frames.length - 1];
    expect(top?.filename).toMatch(/[/\\]dist[/\\]checkout\.js$/);
    const map = new TraceMap(readFileSync(join(APP_DIR, 'dist', 'checkout.js.map'), 'utf8'), join(APP_DIR, 'dist', 'checkout.js.map'));
    const original = originalPositionFor(map, { line: top?.lineno ?? 0, column: (top?.colno ?? 1) - 1 });
    expect(original.source).toMatch(/src[/\\]checkout\.ts$/);
    const source = sourceContentFor(map, original.source ?? '') ?? '';
    const faultyLine = source.split('\n')[(original.line ?? 0) - 1] ?? '';
    expect(faultyLine).toContain(bug.line);
  });
});
