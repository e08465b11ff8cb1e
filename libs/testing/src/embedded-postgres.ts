import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';

/** A real Postgres in a child process (see bin/embedded-postgres.js), stoppable and restartable. */
export interface EmbeddedPostgres {
  readonly url: string;
  /** Stops the server, keeping its data (when persistent). */
  stop(): Promise<void>;
  /** Starts it again on the same port and data. */
  start(): Promise<void>;
  /** Stops the server and its process for good. */
  shutdown(): Promise<void>;
}

/** A TCP port nobody listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

export async function startEmbeddedPostgres(options: { persistent?: boolean; dir?: string } = {}): Promise<EmbeddedPostgres> {
  const port = await freePort();
  const args = [join(__dirname, '..', 'bin', 'embedded-postgres.js'), '--port', String(port), '--persistent', String(options.persistent ?? false)];
  if (options.dir) args.push('--dir', options.dir);
  const child: ChildProcess = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  const waiters: Array<{ word: string; resolve: () => void }> = [];
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    for (const waiter of [...waiters]) {
      if (output.includes(waiter.word)) {
        output = output.slice(output.indexOf(waiter.word) + waiter.word.length);
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const until = (word: string, timeoutMs = 60_000) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`embedded Postgres did not say "${word}" within ${timeoutMs} ms ${stderr}`)), timeoutMs);
      waiters.push({ word, resolve: () => (clearTimeout(timer), resolve()) });
      void exited.then((code) => reject(new Error(`embedded Postgres exited (${code}): ${stderr.trim()}`)));
    });
  await until('ready ');
  return {
    url: `postgres://postgres:postgres@127.0.0.1:${port}/postgres`,
    async stop() {
      child.stdin?.write('stop\n');
      await until('stopped');
    },
    async start() {
      child.stdin?.write('start\n');
      await until('ready ');
    },
    async shutdown() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}
