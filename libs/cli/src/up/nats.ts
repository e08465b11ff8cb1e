import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { freePort, startManaged, waitUntil, type Managed } from './processes';

/** NATS as `up` found it: a URL, and the server it started (if it did). */
export interface FoundNats {
  readonly url: string;
  readonly server?: Managed;
}

/**
 * A `nats-server` from PATH on a free port of 127.0.0.1 with JetStream, its store kept in
 * `<stateDir>/nats`; undefined when there is none on PATH (the services then use the store-log
 * transport). Throws when one is found but does not start.
 */
export async function startNatsServer(stateDir: string, logsDir: string): Promise<FoundNats | undefined> {
  const found = spawnSync('nats-server', ['--version'], { encoding: 'utf8' });
  if (found.error || found.status !== 0) return undefined;
  const port = await freePort();
  const storeDir = join(stateDir, 'nats');
  mkdirSync(storeDir, { recursive: true, mode: 0o700 });
  const server = startManaged('nats-server', 'nats-server', ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', storeDir], { env: process.env, logFile: join(logsDir, 'nats-server.log') });
  await waitUntil(() => listening(port), {
    timeoutMs: 15_000,
    description: `nats-server on port ${port}`,
    failFast: () => (server.exited() ? `nats-server exited (${server.child.exitCode ?? server.child.signalCode}): ${server.tail(1)}` : undefined),
  });
  return { url: `nats://127.0.0.1:${port}`, server };
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}
