import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { createJetStreamBus, startRelay } from '@antibody/bus';
import { createTestStore, testMetadata, testNatsUrl, uniqueName, waitFor } from '@antibody/testing';

const root = join(__dirname, '..', '..', '..');

describe('a consumer killed after its effect but before its ack', () => {
  it('gets the message again and the redelivery causes no second effect', async () => {
    const natsUrl = testNatsUrl();
    if (!natsUrl) throw new Error('this spec needs NATS');
    const t = await createTestStore('kill');
    const id = uniqueName('k').replace(/_/g, '');
    const streamName = `K${id}`.toUpperCase();
    const relayNc = await connect({ servers: natsUrl });
    const relay = startRelay({ store: t.store, nc: relayNc, streamName, subjectPrefix: id, pollIntervalMs: 50 });
    const child = spawn(process.execPath, [join(__dirname, 'fixtures', 'crashing-consumer.js'), t.databaseUrl, t.schema, natsUrl, streamName, id], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
    const nc = await connect({ servers: natsUrl });
    try {
      await waitFor(() => output.includes('consuming'), { timeoutMs: 20_000, description: `the victim to start (${output})` });
      const source = `incident-${randomUUID()}`;
      await t.store.appendToStream(source, [{ type: 'DiagnosisFailed', data: { reason: 'kill me' }, metadata: testMetadata() }]);
      expect(await exited).toBe('SIGKILL');
      expect(output).toContain('effect committed');
      const [event] = (await t.store.readStream(source)).events;
      expect((await t.store.readStream(`effect-${event?.eventId}`)).events).toHaveLength(1);

      // The service restarts: another instance on the same durable gets the unacknowledged message.
      const deliveries: number[] = [];
      const bus = createJetStreamBus({ nc, store: t.store, producer: { service: 'victim', instance: 'restarted' }, streamName, subjectPrefix: id });
      await bus.consume({ durable: 'victim', types: ['DiagnosisFailed'], ackWaitMs: 1000, from: 'now' }, async (e, ctx) => {
        deliveries.push(ctx.deliveryCount);
        await ctx.emit(`effect-${e.eventId}`, [{ type: 'IncidentEscalated', data: { reason: 'effect', step: 'diagnosis' } }]);
      });
      await waitFor(() => deliveries.length > 0, { timeoutMs: 20_000, description: 'the redelivery' });
      expect(deliveries[0]).toBeGreaterThanOrEqual(2);
      const effects = (await t.store.readStream(`effect-${event?.eventId}`)).events;
      expect(effects).toHaveLength(1);
      await bus.close();
    } finally {
      child.kill('SIGKILL');
      await relay.stop();
      const jsm = await jetstreamManager(relayNc);
      await jsm.streams.delete(streamName).catch(() => undefined);
      await relayNc.close();
      await nc.close();
      await t.cleanup();
    }
  });
});
