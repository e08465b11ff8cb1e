import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'pg';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { createJetStreamBus, startRelay, type EventBus, type Relay } from '@antibody/bus';
import { createEventStore, migrateEventStore, type EventStore } from '@antibody/event-store';
import { createTestStore, freePort, isListening, startEmbeddedPostgres, testMetadata, testNatsUrl, uniqueName, waitFor } from '@antibody/testing';


/** A nats-server of this test's own, so restarting it disturbs no other spec. */
class OwnNats {
  private child: ChildProcess | undefined;
  readonly dir = mkdtempSync(join(tmpdir(), 'antibody-nats-restart-'));
  constructor(readonly port: number) {}
  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }
  async start(): Promise<void> {
    this.child = spawn('nats-server', ['-a', '127.0.0.1', '-p', String(this.port), '-js', '-sd', this.dir], { stdio: 'ignore' });
    await waitFor(() => isListening('127.0.0.1', this.port), { description: 'nats-server to listen' });
  }
  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
    this.child = undefined;
  }
}

async function sourceAndEffects(store: EventStore, sources: string[]) {
  const all = (await Promise.all(sources.map((s) => store.readStream(s)))).flatMap((r) => r.events);
  const effects = await Promise.all(all.map((e) => store.readStream(`effect-${e.eventId}`)));
  return { all, effects: effects.map((r) => r.events.length) };
}

function effectHandler(bus: EventBus) {
  return bus.consume({ durable: 'survivor', types: ['DiagnosisFailed'], concurrency: 8, backoffMs: [50, 200] }, async (event, ctx) => {
    await ctx.emit(`effect-${event.eventId}`, [{ type: 'IncidentEscalated', data: { reason: 'effect', step: 'diagnosis' } }]);
  });
}

const failed = (reason: string) => ({ type: 'DiagnosisFailed', data: { reason }, metadata: testMetadata() });

describe('restarts', () => {
  it('NATS restarted while the relay runs: nothing lost, nothing doubled downstream', async () => {
    const t = await createTestStore('natsrestart');
    const nats = new OwnNats(await freePort());
    await nats.start();
    const options = { servers: nats.url, reconnect: true, maxReconnectAttempts: -1, reconnectTimeWait: 100 };
    const relayNc = await connect(options);
    const consumerNc = await connect(options);
    const relay = startRelay({ store: t.store, nc: relayNc, pollIntervalMs: 50 });
    const bus = createJetStreamBus({ nc: consumerNc, store: t.store, producer: { service: 'survivor', instance: '1' } });
    try {
      await effectHandler(bus);
      const sources = Array.from({ length: 10 }, () => `incident-${randomUUID()}`);
      for (const s of sources.slice(0, 5)) await t.store.appendToStream(s, [failed('a'), failed('b')]);
      await waitFor(async () => (await sourceAndEffects(t.store, sources.slice(0, 5))).effects.every((n) => n === 1), { timeoutMs: 20_000, description: 'effects before the restart' });

      await nats.stop();
      for (const s of sources.slice(5)) await t.store.appendToStream(s, [failed('c'), failed('d')]);
      await nats.start();

      await waitFor(async () => (await sourceAndEffects(t.store, sources)).effects.every((n) => n === 1), { timeoutMs: 60_000, description: 'effects after the restart' });
      const { all, effects } = await sourceAndEffects(t.store, sources);
      expect(effects).toEqual(all.map(() => 1));
      // Every stored event is in JetStream exactly once: re-publishes were deduplicated.
      const stored = await t.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${t.schema}".events`);
      await waitFor(async () => (await relay.checkpoint()).position !== '0' && (await jetstreamManager(relayNc)).streams.info('ANTIBODY').then((i) => i.state.messages === stored.rows[0]?.n), {
        timeoutMs: 20_000,
        description: 'the stream to hold every event once',
      });
    } finally {
      await bus.close();
      await relay.stop();
      await relayNc.close();
      await consumerNc.close();
      await nats.stop();
      rmSync(nats.dir, { recursive: true, force: true });
      await t.cleanup();
    }
  });

  it('a standby relay takes over when the active one stops, without losing events', async () => {
    const natsUrl = testNatsUrl();
    if (!natsUrl) throw new Error('this spec needs NATS');
    const t = await createTestStore('failover');
    const id = uniqueName('f').replace(/_/g, '');
    const streamName = `F${id}`.toUpperCase();
    const ncs: NatsConnection[] = await Promise.all([connect({ servers: natsUrl }), connect({ servers: natsUrl }), connect({ servers: natsUrl })]);
    const [nc1, nc2, nc3] = ncs as [NatsConnection, NatsConnection, NatsConnection];
    const roles: string[] = [];
    const first = startRelay({ store: t.store, nc: nc1, streamName, subjectPrefix: id, pollIntervalMs: 50, standbyRetryMs: 100, onRoleChange: (r) => roles.push(`1:${r}`) });
    await waitFor(() => first.isActive(), { description: 'the first relay to lead' });
    const second: Relay = startRelay({ store: t.store, nc: nc2, streamName, subjectPrefix: id, pollIntervalMs: 50, standbyRetryMs: 100, onRoleChange: (r) => roles.push(`2:${r}`) });
    const bus = createJetStreamBus({ nc: nc3, store: t.store, producer: { service: 'survivor', instance: '1' }, streamName, subjectPrefix: id });
    try {
      await effectHandler(bus);
      const sources = Array.from({ length: 6 }, () => `incident-${randomUUID()}`);
      for (const s of sources.slice(0, 3)) await t.store.appendToStream(s, [failed('a')]);
      await waitFor(async () => (await sourceAndEffects(t.store, sources.slice(0, 3))).effects.every((n) => n === 1), { timeoutMs: 20_000, description: 'effects via the first relay' });
      expect(second.isActive()).toBe(false);
      await first.stop();
      for (const s of sources.slice(3)) await t.store.appendToStream(s, [failed('b')]);
      await waitFor(() => second.isActive(), { description: 'the standby to take over' });
      await waitFor(async () => (await sourceAndEffects(t.store, sources)).effects.every((n) => n === 1), { timeoutMs: 20_000, description: 'effects via the second relay' });
      expect(roles).toEqual(['1:active', '1:standby', '2:active']);
    } finally {
      await bus.close();
      await second.stop();
      const jsm = await jetstreamManager(nc1);
      await jsm.streams.delete(streamName).catch(() => undefined);
      for (const nc of ncs) await nc.close();
      await t.cleanup();
    }
  });

  it('Postgres restarted: the relay and consumers reconnect and carry on', async () => {
    const natsUrl = testNatsUrl();
    if (!natsUrl) throw new Error('this spec needs NATS');
    // A Postgres of this test's own, so restarting it disturbs no other spec.
    const pg = await startEmbeddedPostgres({ persistent: true });
    const url = pg.url;
    await migrateEventStore({ connectionString: url, schema: 'antibody' });
    const pool = new Pool({ connectionString: url, max: 10 });
    pool.on('error', () => undefined);
    const store = createEventStore({ pool });
    const id = uniqueName('p').replace(/_/g, '');
    const streamName = `P${id}`.toUpperCase();
    const relayNc = await connect({ servers: natsUrl });
    const consumerNc = await connect({ servers: natsUrl });
    const relay = startRelay({ store, nc: relayNc, streamName, subjectPrefix: id, pollIntervalMs: 50, standbyRetryMs: 100 });
    const bus = createJetStreamBus({ nc: consumerNc, store, producer: { service: 'survivor', instance: '1' }, streamName, subjectPrefix: id });
    try {
      await effectHandler(bus);
      const sources = Array.from({ length: 6 }, () => `incident-${randomUUID()}`);
      for (const s of sources.slice(0, 3)) await store.appendToStream(s, [failed('a')]);
      await waitFor(async () => (await sourceAndEffects(store, sources.slice(0, 3))).effects.every((n) => n === 1), { timeoutMs: 20_000, description: 'effects before the restart' });

      await pg.stop();
      await pg.start();
      // Appends made as soon as the database answers again.
      for (const s of sources.slice(3)) {
        await waitFor(() => store.appendToStream(s, [failed('b')]).then(() => true), { timeoutMs: 20_000, description: 'an append after the restart' });
      }
      await waitFor(async () => (await sourceAndEffects(store, sources)).effects.every((n) => n === 1), { timeoutMs: 30_000, description: 'effects after the restart' });
      expect(relay.isActive()).toBe(true);
    } finally {
      await bus.close();
      await relay.stop();
      const jsm = await jetstreamManager(relayNc);
      await jsm.streams.delete(streamName).catch(() => undefined);
      await relayNc.close();
      await consumerNc.close();
      await store.close();
      await pool.end();
      await pg.shutdown();
    }
  });
});
