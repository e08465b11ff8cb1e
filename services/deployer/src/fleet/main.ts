// antibody-fleet-agent: `node services/deployer/dist/fleet/main.js <config.json>` runs one service's
// replicas behind the weighted proxy on this host, driven by the events of its `fleet-<service>`
// stream (docs/rollout.md). Environment: DATABASE_URL (required), NATS_URL (optional: without it the
// store's own log delivers the requests), ANTIBODY_SCHEMA (default `antibody`). It prints one JSON
// line {"ready":true,"port":…,"statusPort":…} once serving, drains everything on SIGTERM/SIGINT,
// and exits 78 (EX_CONFIG) with one line on a bad configuration.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { createJetStreamBus, createStoreLogBus, type EventBus } from '@antibody/bus';
import { createEventStore, migrateEventStore } from '@antibody/event-store';
import { connectNats, connectPostgres, EXIT_CONFIG } from '@antibody/platform';
import type { FleetAgentConfig } from './agent';
import { startFleetDriver } from './driver';

const NAME = 'antibody-fleet-agent';

class ConfigError extends Error {}

function positiveInt(value: unknown, name: string, fallback: number, min = 1): number {
  const v = value ?? fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw new ConfigError(`"${name}" must be an integer >= ${min}`);
  return v;
}

function loadConfig(path: string | undefined): FleetAgentConfig {
  if (!path) throw new ConfigError('usage: fleet-agent <config.json>');
  let raw: Partial<FleetAgentConfig>;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8')) as typeof raw;
  } catch (error) {
    throw new ConfigError(`cannot read ${path}: ${(error as Error).message}`);
  }
  if (typeof raw.service !== 'string' || !raw.stable || typeof raw.stable.entry !== 'string' || typeof raw.stable.release !== 'string') {
    throw new ConfigError('config needs "service" and "stable": {"release", "entry"}');
  }
  return {
    service: raw.service,
    port: positiveInt(raw.port, 'port', 0, 0),
    statusPort: positiveInt(raw.statusPort, 'statusPort', 0, 0),
    replicas: positiveInt(raw.replicas, 'replicas', 2),
    stable: raw.stable,
    keepCanaryMs: positiveInt(raw.keepCanaryMs, 'keepCanaryMs', 60_000, 0),
    slowFloorMs: positiveInt(raw.slowFloorMs, 'slowFloorMs', 50, 0),
    reportEveryMs: positiveInt(raw.reportEveryMs, 'reportEveryMs', 5_000, 50),
    supervisor: { memoryLimitMb: 256, backoffMinMs: 100, backoffMaxMs: 10_000, backoffResetMs: 30_000, killAfterMs: 10_000, readyTimeoutMs: 15_000, ...raw.supervisor },
  };
}

function log(level: 'info' | 'warn' | 'error', msg: string, fields: Record<string, unknown> = {}): void {
  process.stdout.write(`${JSON.stringify({ level, time: new Date().toISOString(), name: NAME, msg, ...fields })}\n`);
}

async function main(): Promise<void> {
  let config: FleetAgentConfig;
  const databaseUrl = process.env.DATABASE_URL;
  const schema = process.env.ANTIBODY_SCHEMA || 'antibody';
  try {
    config = loadConfig(process.argv[2]);
    if (!databaseUrl) throw new ConfigError('DATABASE_URL is not set: the agent reads and records its orders in the event store');
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new ConfigError(`ANTIBODY_SCHEMA "${schema}" must be a lower-case SQL identifier`);
  } catch (error) {
    process.stderr.write(`${NAME}: ${(error as Error).message}\n`);
    process.exit(EXIT_CONFIG);
  }
  const platformLog = { info: (m: string) => log('info', m), warn: (m: string) => log('warn', m), error: (m: string) => log('error', m) };
  const pool = await connectPostgres(databaseUrl, { service: NAME, log: platformLog });
  await migrateEventStore({ connectionString: databaseUrl, schema });
  const store = createEventStore({ pool, schema });
  const producer = { service: 'fleet-agent', instance: `${hostname()}/${config.service}` };
  const natsUrl = process.env.NATS_URL;
  const nc = natsUrl ? await connectNats(natsUrl, { service: NAME, log: platformLog }) : undefined;
  const onError = (error: unknown) => log('warn', `bus: ${error instanceof Error ? error.message : String(error)}`);
  const bus: EventBus = nc ? createJetStreamBus({ nc, store, producer, onError }) : createStoreLogBus({ store, producer, onError });
  const driver = await startFleetDriver(config, { store, bus, producer, log });
  process.stdout.write(`${JSON.stringify({ ready: true, port: driver.port, statusPort: driver.statusPort, transport: bus.transport })}\n`);
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    driver
      .stop()
      .then(() => bus.close())
      .then(() => nc?.close())
      .then(() => pool.end())
      .then(
        () => process.exit(0),
        () => process.exit(1),
      );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

void main().catch((error: Error) => {
  process.stderr.write(`${NAME}: ${error.message}\n`);
  process.exit(1);
});
