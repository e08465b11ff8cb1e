// A small real shop service used by the fleet tests. Its behaviour depends on its release: the file
// release.json next to it says which release this is and whether the new pricing code is on. The new
// pricing code has a real bug (it indexes the price table by the 1-based line number), so carts with
// a 4th line fail with a TypeError and a 500, as a bad release would in production.
'use strict';
const http = require('node:http');
const release = require('./release.json');

const PRICES = [120, 250, 999, 45];

function totalV1(lines) {
  return lines.reduce((sum, line) => sum + PRICES[line.sku % PRICES.length] * line.qty, 0);
}

function totalV2(lines) {
  // Bug of the new pricing code: `index + 1` runs past the table on the 4th line.
  return lines.reduce((sum, line, index) => sum + PRICES[(index + 1) % 5].valueOf() * line.qty, 0);
}

const total = release.pricingV2 ? totalV2 : totalV1;
let inflight = 0;
const held = [];

const server = http.createServer((req, res) => {
  inflight++;
  res.on('close', () => inflight--);
  const url = new URL(req.url, 'http://localhost');
  if (url.pathname === '/health') {
    res.writeHead(200, { 'content-type': 'application/json' });
    return res.end(JSON.stringify({ release: release.version, pid: process.pid }));
  }
  if (url.pathname === '/hog') {
    // Retains memory (touched, so it is resident): for the supervisor's memory-limit test.
    held.push(Buffer.alloc(Number(url.searchParams.get('mb') ?? '1') * 1024 * 1024, 1));
    res.writeHead(200, { 'content-type': 'application/json' });
    return res.end(JSON.stringify({ heldMb: held.reduce((n, b) => n + b.length, 0) / 1024 / 1024 }));
  }
  if (url.pathname === '/cart') {
    const n = Number(url.searchParams.get('lines') ?? '1');
    const lines = Array.from({ length: n }, (_, i) => ({ sku: i * 7, qty: 1 + (i % 3) }));
    // A release may be slow on every cart (release.json `slowMs`): the judge's latency path.
    const delay = Number(url.searchParams.get('delayMs') ?? '0') + (release.slowMs ?? 0);
    setTimeout(() => {
      try {
        const body = JSON.stringify({ release: release.version, total: total(lines) });
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(body);
      } catch (error) {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: String(error) }));
      }
    }, delay);
    return undefined;
  }
  res.writeHead(404);
  return res.end();
});

server.listen(Number(process.env.PORT ?? 0), '127.0.0.1');

// Graceful shutdown: stop accepting, finish what is in flight, then exit.
process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeIdleConnections?.();
  const check = setInterval(() => {
    if (inflight === 0) server.closeAllConnections?.();
  }, 20);
  check.unref();
});
