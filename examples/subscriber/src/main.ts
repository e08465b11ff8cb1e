// example-subscriber: a service outside Antibody that follows its incidents, without Nest. It reads
// every IncidentOpened and IncidentResolved from position 0, then live, and prints one line each
// with a running count per service. Settings: DATABASE_URL (required), NATS_URL (optional: without
// it, the store's own log is the transport), ANTIBODY_SCHEMA (default `antibody`),
// SUBSCRIBER_DURABLE (default `example-subscriber`).
import { hostname } from 'node:os';
import { Pool } from 'pg';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { parseEventData } from '@antibody/contracts';
import { createJetStreamBus, createStoreLogBus, type EventBus, type Producer } from '@antibody/bus';
import { createEventStore, migrateEventStore, type StoredEvent } from '@antibody/event-store';
import { describeEvent, evolve, initialCounts, type CountedEvent } from './incident-counter';

const NAME = 'example-subscriber';

interface Settings {
  readonly databaseUrl: string;
  readonly natsUrl: string | undefined;
  readonly schema: string;
  readonly durable: string;
}

function settingsFrom(env: NodeJS.ProcessEnv): Settings {
  const problems: string[] = [];
  const databaseUrl = env['DATABASE_URL'] || '';
  if (!/^postgres(ql)?:\/\//.test(databaseUrl)) problems.push('DATABASE_URL must be a postgres:// URL');
  const schema = env['ANTIBODY_SCHEMA'] || 'antibody';
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) problems.push('ANTIBODY_SCHEMA must be a lower-case SQL identifier');
  const durable = env['SUBSCRIBER_DURABLE'] || NAME;
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(durable)) problems.push('SUBSCRIBER_DURABLE must be 1-64 letters, digits, "-" or "_"');
  if (problems.length > 0) {
    process.stderr.write(`${NAME}: invalid configuration: ${problems.join('; ')}\n`);
    process.exit(78);
  }
  return { databaseUrl, natsUrl: env['NATS_URL'] || undefined, schema, durable };
}

function toCounted(event: StoredEvent): CountedEvent {
  // The bus has validated and upcast the data already; parsing again gives it its contract type.
  return event.type === 'IncidentOpened'
    ? { type: 'IncidentOpened', streamId: event.streamId, data: parseEventData('IncidentOpened', event.schemaVersion, event.data) }
    : { type: 'IncidentResolved', streamId: event.streamId, data: parseEventData('IncidentResolved', event.schemaVersion, event.data) };
}

function oneLine(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message.split('\n')[0]}` : String(error);
}

async function main(): Promise<void> {
  const settings = settingsFrom(process.env);
  const producer: Producer = { service: NAME, instance: `${hostname()}-${process.pid}` };
  const log = (line: string): boolean => process.stderr.write(`${NAME}: ${line}\n`);
  // A stop signal during start-up is honoured once everything is open, so that nothing leaks.
  let stop: (() => Promise<void>) | undefined = undefined;
  let stopSignal: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopSignal) return;
    stopSignal = signal;
    log(`${signal} received; stopping`);
    void stop?.();
  };
  process.on('SIGINT', onSignal).on('SIGTERM', onSignal);

  await migrateEventStore({ connectionString: settings.databaseUrl, schema: settings.schema });
  const pool = new Pool({ connectionString: settings.databaseUrl, max: 4 });
  pool.on('error', (error) => log(`idle Postgres connection failed (${oneLine(error)})`));
  const store = createEventStore({ pool, schema: settings.schema });
  const nc: NatsConnection | null = settings.natsUrl ? await connect({ servers: settings.natsUrl.split(',') }) : null;
  const onError = (error: unknown): void => {
    log(`will retry: ${oneLine(error)}`);
  };
  const bus: EventBus = nc ? createJetStreamBus({ nc, store, producer, onError }) : createStoreLogBus({ store, producer, onError });

  let counts = initialCounts();
  await bus.consume({ durable: settings.durable, types: ['IncidentOpened', 'IncidentResolved'], from: 'start' }, async (event) => {
    const counted = toCounted(event);
    process.stdout.write(`${describeEvent(counts, counted)}\n`);
    counts = evolve(counts, counted);
  });
  log(`following incidents from position 0 over ${bus.transport} (schema ${settings.schema}, durable ${settings.durable})`);

  stop = async () => {
    try {
      await bus.close(); // lets the event in hand finish
      await store.close();
      if (nc) await nc.drain();
      await pool.end();
      process.exit(0);
    } catch (error) {
      log(`error while stopping: ${oneLine(error)}`);
      process.exit(1);
    }
  };
  if (stopSignal) await stop();
}

main().catch((error: unknown) => {
  process.stderr.write(`${NAME}: failed to start (${oneLine(error)})\n`);
  process.exit(1);
});
