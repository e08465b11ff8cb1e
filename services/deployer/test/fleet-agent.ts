// Starts the compiled fleet agent as a real process on a test event store (build first: `npm test`
// does). Over JetStream when the suite has NATS (a relay in the spec's process publishes the store,
// as one of the services does in production), else over the store's own log.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { startRelay, type Relay } from '@antibody/bus';
import { testNatsUrl, type TestStore } from '@antibody/testing';

const AGENT = join(__dirname, '..', 'dist', 'fleet', 'main.js');

export interface RunningAgent {
  readonly process: ChildProcess;
  readonly proxyUrl: string;
  readonly statusUrl: string;
  readonly transport: string;
  status<T>(): Promise<T>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export async function startAgent(t: TestStore, dir: string, config: object, transport: 'jetstream' | 'store-log'): Promise<RunningAgent> {
  const file = join(dir, `fleet-${Date.now()}-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify(config));
  const natsUrl = transport === 'jetstream' ? testNatsUrl() : undefined;
  const child = spawn(process.execPath, [AGENT, file], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', DATABASE_URL: t.databaseUrl, ANTIBODY_SCHEMA: t.schema, ...(natsUrl ? { NATS_URL: natsUrl } : {}) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! });
  const ready = await new Promise<{ port: number; statusPort: number; transport: string }>((resolve, reject) => {
    lines.on('line', (line) => {
      const parsed = JSON.parse(line) as { ready?: boolean; port: number; statusPort: number; transport: string };
      if (parsed.ready) resolve(parsed);
    });
    child.once('exit', (code) => reject(new Error(`fleet agent exited with ${code}`)));
  });
  const statusUrl = `http://127.0.0.1:${ready.statusPort}/status`;
  return {
    process: child,
    proxyUrl: `http://127.0.0.1:${ready.port}`,
    statusUrl,
    transport: ready.transport,
    status: async <T>() => (await (await fetch(statusUrl)).json()) as T,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill(signal);
      return exited;
    },
  };
}

/** The relay a JetStream agent needs (undefined when the suite has no NATS). */
export async function startTestRelay(t: TestStore): Promise<{ relay: Relay; nc: NatsConnection } | undefined> {
  const url = testNatsUrl();
  if (!url) return undefined;
  const nc = await connect({ servers: url });
  return { relay: startRelay({ store: t.store, nc, pollIntervalMs: 50 }), nc };
}
