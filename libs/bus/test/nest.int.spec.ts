import { randomUUID } from 'node:crypto';
import { Injectable, Module, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import type { EventBus, HandlerContext } from '@antibody/bus';
import { EVENT_BUS, EVENT_STORE, EventBusModule, OnEvent, type EventBusModuleOptions } from '@antibody/bus/nest';
import type { EventStore, NewEvent, StoredEvent } from '@antibody/event-store';
import { createTestStore, testMetadata, testNatsUrl, uniqueName, waitFor, type TestStore } from '@antibody/testing';

/** Two reactions to DiagnosisFailed in one provider: each runs as its own durable consumer. */
@Injectable()
class DiagnosisReactor {
  readonly calls: string[] = [];

  @OnEvent('DiagnosisFailed')
  async escalate(event: StoredEvent, ctx: HandlerContext): Promise<void> {
    this.calls.push(`escalate:${event.eventId}`);
    await ctx.emit(`effect-${event.eventId}`, [{ type: 'IncidentEscalated', data: { reason: 'no diagnosis', step: 'diagnosis' } }]);
  }

  @OnEvent(['DiagnosisFailed', 'PatchFailed'], { maxDeliver: 3 })
  async record(event: StoredEvent, ctx: HandlerContext): Promise<void> {
    this.calls.push(`record:${event.eventId}`);
    await ctx.emit(`effect-${event.eventId}`, [{ type: 'IncidentEscalated', data: { reason: 'recorded', step: 'diagnosis' } }]);
  }
}

/** How one transport is given to the module; every call is a new service instance. */
interface Transport {
  moduleOptions(): Promise<EventBusModuleOptions>;
  stop(): Promise<void>;
}

function storeLog(t: TestStore): Transport {
  return {
    moduleOptions: async () => ({
      durable: 'analyzer',
      relay: true, // nothing to relay to without NATS: ignored
      pollIntervalMs: 100,
      connection: { pool: t.pool, databaseUrl: t.databaseUrl, schema: t.schema, nats: null, producer: { service: 'analyzer', instance: 'test' } },
    }),
    stop: async () => undefined,
  };
}

function jetStream(t: TestStore): Transport {
  const url = testNatsUrl();
  if (!url) throw new Error('NATS_URL is not set and no nats-server was found: JetStream specs need one');
  const id = uniqueName('n').replace(/_/g, '');
  const streamName = `T${id}`.toUpperCase();
  const connections: NatsConnection[] = [];
  return {
    moduleOptions: async () => {
      const nats = await connect({ servers: url });
      connections.push(nats);
      return {
        durable: 'analyzer',
        relay: true,
        streamName,
        subjectPrefix: id,
        pollIntervalMs: 100,
        connection: { pool: t.pool, databaseUrl: t.databaseUrl, schema: t.schema, nats, producer: { service: 'analyzer', instance: 'test' } },
      };
    },
    stop: async () => {
      const [first] = connections;
      if (first) await (await jetstreamManager(first)).streams.delete(streamName).catch(() => undefined);
      for (const nc of connections) await nc.close().catch(() => undefined);
    },
  };
}

/**
 * A Nest application context holding the reactor, as a service's root module would. (What
 * `Test.createTestingModule(...).compile()` + `init()` does; @nestjs/testing is not installed.)
 */
async function startApp(transport: Transport): Promise<{ app: INestApplicationContext; reactor: DiagnosisReactor }> {
  const options = await transport.moduleOptions();
  @Module({ imports: [EventBusModule.forRoot(options)], providers: [DiagnosisReactor] })
  class ServiceModule {}
  const app = await NestFactory.createApplicationContext(ServiceModule, { logger: ['error', 'warn'] });
  return { app, reactor: app.get(DiagnosisReactor) };
}

function diagnosisFailed(correlationId: string): NewEvent {
  return { type: 'DiagnosisFailed', data: { reason: 'no rule matched' }, metadata: testMetadata({ correlationId }) };
}

async function effectsOf(store: EventStore, source: StoredEvent): Promise<readonly StoredEvent[]> {
  return (await store.readStream(`effect-${source.eventId}`)).events;
}

describe.each([
  ['store-log', storeLog],
  ['jetstream', jetStream],
] as const)('EventBusModule on the %s transport', (transportName, makeTransport) => {
  let t: TestStore;
  let transport: Transport;
  const apps: INestApplicationContext[] = [];

  beforeEach(async () => {
    t = await createTestStore('nestbus');
    transport = makeTransport(t);
  });

  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
    await transport.stop();
    await t.cleanup();
  });

  it('runs every @OnEvent method from position 0; each emits with causation = the source event and ids of its own', async () => {
    const correlationId = randomUUID();
    const stream = `incident-${randomUUID()}`;
    await t.store.appendToStream(stream, [diagnosisFailed(correlationId)]);

    const { app, reactor } = await startApp(transport);
    apps.push(app);
    expect(app.get<EventBus>(EVENT_BUS).transport).toBe(transportName);
    await app.get<EventStore>(EVENT_STORE).appendToStream(stream, [diagnosisFailed(correlationId)]);

    const sources = (await t.store.readStream(stream)).events;
    expect(sources).toHaveLength(2);
    for (const source of sources) {
      await waitFor(async () => (await effectsOf(t.store, source)).length === 2, { timeoutMs: 20_000, description: `both effects of ${source.eventId}` });
      const effects = await effectsOf(t.store, source);
      expect(effects.map((e) => (e.data as { reason: string }).reason).sort()).toEqual(['no diagnosis', 'recorded']);
      for (const effect of effects) {
        expect(effect.metadata).toMatchObject({ causationId: source.eventId, correlationId, producer: { service: 'analyzer', instance: 'test' } });
      }
      expect(new Set(effects.map((e) => e.eventId)).size).toBe(2);
    }
    // At least once per method (a store-log batch that lost a race on the effect stream is rolled back and retried).
    expect(new Set(reactor.calls)).toEqual(new Set(sources.flatMap((s) => [`escalate:${s.eventId}`, `record:${s.eventId}`])));
  });

  it('close() stops the consumers; a restarted instance resumes where they left off', async () => {
    const stream = `incident-${randomUUID()}`;
    const first = await startApp(transport);
    await t.store.appendToStream(stream, [diagnosisFailed(randomUUID())]);
    const [before] = (await t.store.readStream(stream)).events;
    await waitFor(async () => before !== undefined && (await effectsOf(t.store, before)).length === 2, { timeoutMs: 20_000, description: 'the first event handled' });
    await first.app.close();
    const callsAtClose = [...first.reactor.calls];

    await t.store.appendToStream(stream, [diagnosisFailed(randomUUID())]);
    const second = await startApp(transport);
    apps.push(second.app);
    const [, after] = (await t.store.readStream(stream)).events;
    await waitFor(async () => after !== undefined && (await effectsOf(t.store, after)).length === 2, { timeoutMs: 20_000, description: 'the second event handled' });

    expect(first.reactor.calls).toEqual(callsAtClose);
    expect(new Set(second.reactor.calls)).toEqual(new Set([`escalate:${after?.eventId}`, `record:${after?.eventId}`]));
  });
});
