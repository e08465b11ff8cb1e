import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { jetstreamManager } from '@nats-io/jetstream';
import { createJetStreamBus, createStoreLogBus, startRelay, type EventBus, type Relay } from '@antibody/bus';
import type { EventStore } from '@antibody/event-store';
import { testNatsUrl, uniqueName } from '@antibody/testing';

/** One transport under test, with everything it needs to run and to be torn down. */
export interface TransportHarness {
  readonly name: 'jetstream' | 'store-log';
  /** A new bus instance, as another process of the same service would have (own connection). */
  newInstance(instance: string): Promise<EventBus>;
  stop(): Promise<void>;
}

export async function jetStreamHarness(store: EventStore): Promise<TransportHarness> {
  const url = testNatsUrl();
  if (!url) throw new Error('NATS_URL is not set and no nats-server was found: JetStream specs need one');
  const id = uniqueName('t').replace(/_/g, '');
  const streamName = `T${id}`.toUpperCase();
  const subjectPrefix = id;
  const connections: NatsConnection[] = [];
  const buses: EventBus[] = [];
  const relayNc = await connect({ servers: url });
  connections.push(relayNc);
  const relay: Relay = startRelay({ store, nc: relayNc, streamName, subjectPrefix, pollIntervalMs: 100 });
  return {
    name: 'jetstream',
    async newInstance() {
      const nc = await connect({ servers: url });
      connections.push(nc);
      const bus = createJetStreamBus({ nc, store, producer: { service: 'test', instance: nc.info?.client_id?.toString() ?? 'x' }, streamName, subjectPrefix });
      buses.push(bus);
      return bus;
    },
    async stop() {
      for (const bus of buses) await bus.close();
      await relay.stop();
      const jsm = await jetstreamManager(relayNc);
      await jsm.streams.delete(streamName).catch(() => undefined);
      for (const nc of connections) await nc.close().catch(() => undefined);
    },
  };
}

export async function storeLogHarness(store: EventStore): Promise<TransportHarness> {
  const buses: EventBus[] = [];
  return {
    name: 'store-log',
    async newInstance(instance: string) {
      const bus = createStoreLogBus({ store, producer: { service: 'test', instance }, pollIntervalMs: 100 });
      buses.push(bus);
      return bus;
    },
    async stop() {
      for (const bus of buses) await bus.close();
    },
  };
}
