import { randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { connect } from '@nats-io/transport-node';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { createJetStreamBus, startRelay } from '@antibody/bus';
import { createEventStore, dropEventStore, migrateEventStore, type NewEvent } from '@antibody/event-store';
import { discoverInfrastructure, testMetadata } from '@antibody/testing';
import { median, percentile, report } from './harness';

// Latency: append -> handler at a steady rate, through the relay and a JetStream durable consumer.
// The appender, the relay and the consumer each have their own pool or connection, so the relay
// is woken by Postgres NOTIFY as it would be in another process.
const STEADY_RATE = 500;
const STEADY_SECONDS = Number(process.env.BUS_STEADY_SECONDS ?? 10);
const SUSTAINED_SECONDS = Number(process.env.BUS_SUSTAINED_SECONDS ?? 60);
const SUSTAINED_WRITERS = 4;
const SUSTAINED_BATCH = Number(process.env.BUS_SUSTAINED_BATCH ?? 50);

function failed(eventId: string): NewEvent {
  return { eventId, type: 'DiagnosisFailed', data: { reason: 'bench' }, metadata: testMetadata({ producer: { service: 'bench', instance: '1' } }) };
}

export async function main(): Promise<void> {
  const infrastructure = await discoverInfrastructure((line) => process.stderr.write(`${line}\n`));
  if (!infrastructure.natsUrl) throw new Error('the bus benchmark needs NATS (NATS_URL or nats-server on PATH)');
  const schema = `bench_bus_${Date.now().toString(36)}`;
  const id = schema.replace(/_/g, '');
  const streamName = id.toUpperCase();
  await migrateEventStore({ connectionString: infrastructure.databaseUrl, schema });
  const pools = [0, 1, 2].map(() => new Pool({ connectionString: infrastructure.databaseUrl, max: 12 }));
  const [writerPool, relayPool, consumerPool] = pools as [Pool, Pool, Pool];
  const writer = createEventStore({ pool: writerPool, schema });
  const relayStore = createEventStore({ pool: relayPool, schema });
  const consumerStore = createEventStore({ pool: consumerPool, schema });
  // As the services connect (libs/platform connectNats): without per-request stack captures.
  const relayNc = await connect({ servers: infrastructure.natsUrl, noAsyncTraces: true });
  const consumerNc = await connect({ servers: infrastructure.natsUrl, noAsyncTraces: true });
  const relay = startRelay({ store: relayStore, nc: relayNc, streamName, subjectPrefix: id, pollIntervalMs: 250, batchSize: 1000 });
  const bus = createJetStreamBus({ nc: consumerNc, store: consumerStore, producer: { service: 'bench', instance: '1' }, streamName, subjectPrefix: id });
  try {
    const sentAt = new Map<string, bigint>();
    const latencies: number[] = [];
    let handled = 0;
    await bus.consume({ durable: 'bench', types: ['DiagnosisFailed'], from: 'now', concurrency: 32 }, async (event) => {
      handled += 1;
      const start = sentAt.get(event.eventId);
      if (start !== undefined) {
        latencies.push(Number(process.hrtime.bigint() - start) / 1e6);
        sentAt.delete(event.eventId);
      }
    });

    // 1. Steady 500 events/s, one event per append.
    const interval = 1000 / STEADY_RATE;
    const begin = Date.now();
    for (let i = 0; i < STEADY_RATE * STEADY_SECONDS; i++) {
      const due = begin + i * interval;
      const wait = due - Date.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      const eventId = randomUUID();
      sentAt.set(eventId, process.hrtime.bigint());
      void writer.appendToStream(`incident-${eventId}`, [failed(eventId)]);
    }
    await waitUntil(() => latencies.length >= STEADY_RATE * STEADY_SECONDS, 30_000);

    // 2. Sustained: writers append as fast as they can for SUSTAINED_SECONDS; count what the consumer acked.
    sentAt.clear();
    const handledBefore = handled;
    const deadline = Date.now() + SUSTAINED_SECONDS * 1000;
    let appended = 0;
    const started = Date.now();
    await Promise.all(
      Array.from({ length: SUSTAINED_WRITERS }, async () => {
        while (Date.now() < deadline) {
          const events = Array.from({ length: SUSTAINED_BATCH }, () => failed(randomUUID()));
          await writer.appendToStream(`incident-${randomUUID()}`, events);
          appended += events.length;
        }
      }),
    );
    const window = (Date.now() - started) / 1000;
    const ackedInWindow = handled - handledBefore;
    const sustained = Math.min(appended, ackedInWindow) / window;
    await waitUntil(() => handled - handledBefore >= appended, 120_000);

    // 3. Baseline: raw JetStream publish -> consume, same rate, same connections' kind.
    const baseline = await rawJetStreamLatency(infrastructure.natsUrl, `${streamName}_RAW`, `${id}raw`);

    report(
      'bus',
      {
        latency_p50_ms: { value: percentile(latencies, 50), unit: 'ms', goal: '<= 5', note: `append -> handler, ${STEADY_RATE}/s for ${STEADY_SECONDS}s` },
        latency_p99_ms: { value: percentile(latencies, 99), unit: 'ms', goal: '<= 25' },
        sustained_eps: { value: sustained, unit: 'events/s', goal: '>= 10,000', note: `appended and acked in ${SUSTAINED_SECONDS}s (${SUSTAINED_WRITERS} writers x ${SUSTAINED_BATCH})` },
        sustained_appended_eps: { value: appended / window, unit: 'events/s' },
        nats_baseline_p50_ms: { value: baseline.p50, unit: 'ms', note: 'raw JetStream publish -> consume, same rate' },
        nats_baseline_p99_ms: { value: baseline.p99, unit: 'ms' },
        latency_p50_ratio: { value: percentile(latencies, 50) / baseline.p50, unit: 'ratio', note: 'ours / raw JetStream' },
      },
      { samples: { latencyCount: latencies.length, latencyMedian: median(latencies) } },
    );
  } finally {
    await bus.close();
    await relay.stop();
    const jsm = await jetstreamManager(relayNc);
    await jsm.streams.delete(streamName).catch(() => undefined);
    await relayNc.close();
    await consumerNc.close();
    for (const store of [writer, relayStore, consumerStore]) await store.close();
    await dropEventStore(writerPool, schema);
    for (const pool of pools) await pool.end();
    await infrastructure.stop();
  }
}

async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('benchmark did not drain in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function rawJetStreamLatency(url: string, streamName: string, prefix: string): Promise<{ p50: number; p99: number }> {
  const pub = await connect({ servers: url, noAsyncTraces: true });
  const sub = await connect({ servers: url, noAsyncTraces: true });
  const jsm = await jetstreamManager(pub);
  await jsm.streams.add({ name: streamName, subjects: [`${prefix}.>`] });
  await jsm.consumers.add(streamName, { durable_name: 'raw', ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.New });
  const consumer = await jetstream(sub).consumers.get(streamName, 'raw');
  const messages = await consumer.consume({ max_messages: 100 });
  const latencies: number[] = [];
  const total = STEADY_RATE * STEADY_SECONDS;
  const done = (async () => {
    for await (const msg of messages) {
      latencies.push(Number(process.hrtime.bigint() - BigInt(msg.string())) / 1e6);
      msg.ack();
      if (latencies.length >= total) break;
    }
  })();
  const js = jetstream(pub);
  const begin = Date.now();
  for (let i = 0; i < total; i++) {
    const wait = begin + i * (1000 / STEADY_RATE) - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    void js.publish(`${prefix}.x`, process.hrtime.bigint().toString(), { msgID: randomUUID() });
  }
  await done;
  await messages.close().catch(() => undefined);
  await jsm.streams.delete(streamName).catch(() => undefined);
  await pub.close();
  await sub.close();
  return { p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}
