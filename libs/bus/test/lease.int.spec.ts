// A held JetStream message is leased, not owned for the handler's whole ackWaitMs: a live instance
// keeps it with in-progress acks however long its handler runs; a killed instance's message goes to
// another instance within one lease. (The failure drill found a SIGKILLed validator's validations
// waiting its 30-minute ackWait before anyone took them up again.)
import { randomUUID } from 'node:crypto';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { createJetStreamBus, startRelay, type EventBus, type Relay } from '@antibody/bus';
import { createTestStore, testMetadata, testNatsUrl, uniqueName, waitFor, type TestStore } from '@antibody/testing';

jest.setTimeout(60_000);

let t: TestStore;
let relay: Relay;
const connections: NatsConnection[] = [];
const buses: EventBus[] = [];
let streamName: string;
let subjectPrefix: string;
/** Lets the handler that never returns return, so its transaction ends before the schema is dropped. */
let hang: () => void = () => undefined;

async function instance(leaseMs: number): Promise<{ bus: EventBus; nc: NatsConnection }> {
  const nc = await connect({ servers: testNatsUrl() as string });
  connections.push(nc);
  const bus = createJetStreamBus({ nc, store: t.store, producer: { service: 'lease', instance: randomUUID() }, streamName, subjectPrefix, leaseMs });
  buses.push(bus);
  return { bus, nc };
}

beforeAll(async () => {
  t = await createTestStore('buslease');
  const id = uniqueName('l').replace(/_/g, '');
  streamName = `L${id}`.toUpperCase();
  subjectPrefix = id;
  const nc = await connect({ servers: testNatsUrl() as string });
  connections.push(nc);
  relay = startRelay({ store: t.store, nc, streamName, subjectPrefix, pollIntervalMs: 50 });
});

afterAll(async () => {
  hang();
  for (const bus of buses) await bus.close().catch(() => undefined);
  await relay?.stop();
  const jsm = await jetstreamManager(connections[0] as NatsConnection);
  await jsm.streams.delete(streamName).catch(() => undefined);
  for (const nc of connections) await nc.close().catch(() => undefined);
  await t?.cleanup();
});

const failed = () => ({ type: 'DiagnosisFailed', data: { reason: 'x' }, metadata: testMetadata() });

it('keeps a message with its instance while the handler runs for several leases: delivered once', async () => {
  const { bus } = await instance(600);
  const deliveries: number[] = [];
  await bus.consume({ durable: 'slow', types: ['DiagnosisFailed'], from: 'now', ackWaitMs: 60_000 }, async (_event, ctx) => {
    deliveries.push(ctx.deliveryCount);
    await new Promise((resolve) => setTimeout(resolve, 3000));
  });
  await t.store.appendToStream(`incident-${randomUUID()}`, [failed()]);
  await waitFor(() => deliveries.length > 0, { timeoutMs: 20_000, description: 'the first delivery' });
  await new Promise((resolve) => setTimeout(resolve, 4000));
  expect(deliveries).toEqual([1]);
});

it("hands a killed instance's message to another within a lease, not after the handler's ackWaitMs", async () => {
  const first = await instance(1000);
  const taken: string[] = [];
  await first.bus.consume({ durable: 'crash', types: ['DiagnosisFailed'], from: 'now', ackWaitMs: 600_000 }, async (event) => {
    taken.push(`first ${event.eventId}`);
    // Never returns: the instance dies holding it.
    await new Promise<void>((resolve) => (hang = resolve));
  });
  await t.store.appendToStream(`incident-${randomUUID()}`, [failed()]);
  await waitFor(() => taken.length === 1, { timeoutMs: 20_000, description: 'the first instance to take the message' });
  // The process dies: its connection is gone without an ack, and no more in-progress acks come.
  void first.nc.close().catch(() => undefined);
  const second = await instance(1000);
  await second.bus.consume({ durable: 'crash', types: ['DiagnosisFailed'], from: 'now', ackWaitMs: 600_000 }, async (event) => {
    taken.push(`second ${event.eventId}`);
  });
  await waitFor(() => taken.length === 2, { timeoutMs: 15_000, description: 'the second instance to take the message over' });
  expect(taken[1]?.replace('second', 'first')).toBe(taken[0]);
});
