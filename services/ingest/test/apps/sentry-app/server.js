'use strict';
// A small real HTTP service traced by the unmodified official @sentry/node SDK (every request a
// transaction, tracesSampleRate 1), its DSN on Antibody ingest. It serves REQUESTS (a JSON list of
// paths) to itself over a plain socket, so only the server side is traced, then flushes.
const Sentry = require('@sentry/node');

Sentry.init({
  dsn: process.env.SENTRY_DSN,
  release: process.env.APP_RELEASE,
  environment: process.env.APP_ENVIRONMENT,
  tracesSampleRate: 1,
  ...(process.env.SENTRY_TRACE_LIFECYCLE ? { traceLifecycle: process.env.SENTRY_TRACE_LIFECYCLE } : {}),
});

const http = require('node:http');
const net = require('node:net');

const server = http.createServer((req, res) => {
  const answer = (status) => {
    res.writeHead(status, { 'content-type': 'text/plain', connection: 'close' });
    res.end(String(status));
  };
  if (req.url === '/slow') setTimeout(() => answer(200), 150);
  else if (req.url === '/boom') answer(500);
  else if (req.url === '/missing') answer(404);
  else answer(200);
});

function get(port, path) {
  return new Promise((resolve, reject) => {
    // Written without half-closing: the server closes the connection after its answer.
    const socket = net.connect(port, '127.0.0.1', () => socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`));
    let text = '';
    socket.on('data', (c) => (text += c.toString()));
    socket.on('end', () => resolve(text.split(' ')[1]));
    socket.on('error', reject);
  });
}

server.listen(0, '127.0.0.1', async () => {
  const { port } = server.address();
  const statuses = [];
  for (const path of JSON.parse(process.env.REQUESTS ?? '[]')) statuses.push(await get(port, path));
  server.close();
  const flushed = await Sentry.flush(10_000);
  process.stdout.write(`statuses=${statuses.join(',')}\nflushed=${flushed}\n`);
});
