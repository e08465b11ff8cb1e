import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startEmbeddedPostgres } from './embedded-postgres';

/** What the test run (or the demo) connects to. */
export interface Infrastructure {
  readonly databaseUrl: string;
  /** Undefined when no NATS server could be found: the store-log transport is used instead. */
  readonly natsUrl: string | undefined;
  /** Stops whatever discovery started itself. */
  stop(): Promise<void>;
}

/**
 * Finds real Postgres and NATS: `DATABASE_URL` / `NATS_URL` when set; otherwise the local
 * defaults (127.0.0.1:5432 and :4222) when they answer; otherwise an embedded Postgres (the
 * `embedded-postgres` package) and a `nats-server` from PATH on a free port.
 */
export async function discoverInfrastructure(log: (line: string) => void = () => undefined): Promise<Infrastructure> {
  const stops: Array<() => Promise<void>> = [];
  let databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) {
    if (await isListening('127.0.0.1', 5432)) {
      databaseUrl = 'postgres://postgres@127.0.0.1:5432/postgres';
    } else {
      const embedded = await startEmbedded(log);
      databaseUrl = embedded.url;
      stops.push(embedded.stop);
    }
  }
  let natsUrl = process.env.NATS_URL;
  if (!natsUrl) {
    if (await isListening('127.0.0.1', 4222)) {
      natsUrl = 'nats://127.0.0.1:4222';
    } else {
      const spawned = await startNatsServer(log);
      natsUrl = spawned?.url;
      if (spawned) stops.push(spawned.stop);
    }
  }
  return {
    databaseUrl,
    natsUrl,
    stop: async () => {
      for (const stop of stops.reverse()) await stop();
    },
  };
}

/** True when something accepts TCP connections at host:port within 500 ms. */
export function isListening(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}


async function startEmbedded(log: (line: string) => void): Promise<{ url: string; stop: () => Promise<void> }> {
  log('no Postgres at DATABASE_URL or 127.0.0.1:5432: starting an embedded one');
  const pg = await startEmbeddedPostgres();
  return { url: pg.url, stop: () => pg.shutdown() };
}

async function startNatsServer(log: (line: string) => void): Promise<{ url: string; stop: () => Promise<void> } | undefined> {
  const port = await freePort();
  const storeDir = mkdtempSync(join(tmpdir(), 'antibody-nats-'));
  let child: ChildProcess;
  try {
    child = spawn('nats-server', ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', storeDir], { stdio: 'ignore' });
  } catch {
    return undefined;
  }
  const spawned = await new Promise<boolean>((resolve) => {
    child.once('error', () => resolve(false));
    child.once('spawn', () => resolve(true));
  });
  if (!spawned) {
    log('no NATS server found: using the store-log transport');
    return undefined;
  }
  const deadline = Date.now() + 10_000;
  while (!(await isListening('127.0.0.1', port))) {
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      return undefined;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  log(`started nats-server on port ${port}`);
  return {
    url: `nats://127.0.0.1:${port}`,
    stop: async () => {
      child.kill('SIGTERM');
    },
  };
}

