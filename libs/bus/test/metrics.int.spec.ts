import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Injectable, Module, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { Registry } from 'prom-client';
import type { HandlerContext } from '@antibody/bus';
import type { RecordedEvent } from '@antibody/contracts';
import { EVENT_STORE, EventBusModule, OnEvent, type EventBusConnection } from '@antibody/bus/nest';
import type { EventStore, NewEvent, StoredEvent } from '@antibody/event-store';
import { createTestStore, testMetadata, testNatsUrl, uniqueName, waitFor, type TestStore } from '@antibody/testing';

/** Fails each DiagnosisFailed once, then meters an LLM call and escalates; never handles a PatchFailed. */
@Injectable()
class MeteredReactor {
  @OnEvent('DiagnosisFailed')
  async escalate(event: StoredEvent, ctx: HandlerContext): Promise<void> {
    if (ctx.deliveryCount === 1) throw new Error('transient: try again');
    await ctx.emit(event.streamId, [
      { type: 'LlmCallMetered', data: { model: 'm-small', tier: 'small', step: 'diagnosis', promptTokens: 120, completionTokens: 30, costUsd: 0.25 } },
      { type: 'IncidentEscalated', data: { reason: 'over budget', step: 'diagnosis', budgetExceeded: { scope: 'daily', limitUsd: 1, spentUsd: 1.25 } } },
    ]);
  }

  @OnEvent('PatchFailed', { maxDeliver: 2, backoffMs: [50] })
  async poison(_event: RecordedEvent<'PatchFailed'>, _ctx: HandlerContext): Promise<void> {
    throw new Error('poison');
  }
}

async function startApp(connection: EventBusConnection, extra: { streamName?: string; subjectPrefix?: string }): Promise<INestApplicationContext> {
  @Module({ imports: [EventBusModule.forRoot({ durable: 'metered', relay: true, pollIntervalMs: 100, connection, ...extra })], providers: [MeteredReactor] })
  class ServiceModule {}
  return NestFactory.createApplicationContext(ServiceModule, { logger: ['error'] });
}

/** The value of one series in Prometheus text, or undefined when absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

/** A golden fixture's data (libs/contracts/fixtures), or undefined when the catalog has no such event yet. */
function fixture(type: string): Record<string, unknown> | undefined {
  const path = join(__dirname, '..', '..', 'contracts', 'fixtures', `${type}.v1.json`);
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>) : undefined;
}

const events = (incident: string): NewEvent[] => [
  { type: 'DiagnosisFailed', data: { reason: 'no rule matched' }, metadata: testMetadata({ correlationId: incident }) },
  { type: 'PatchFailed', data: { reason: 'no template applies' }, metadata: testMetadata({ correlationId: incident }) },
];

describe.each(['store-log', 'jetstream'] as const)('bus metrics on the %s transport', (transport) => {
  let t: TestStore;
  let nats: NatsConnection | null = null;
  let app: INestApplicationContext | undefined;
  const streamName = `M${uniqueName('m').replace(/_/g, '')}`.toUpperCase();
  const subjectPrefix = uniqueName('m').replace(/_/g, '');

  beforeEach(async () => {
    t = await createTestStore('busmetrics');
    if (transport === 'jetstream') {
      const url = testNatsUrl();
      if (!url) throw new Error('NATS_URL is not set and no nats-server was found: JetStream specs need one');
      nats = await connect({ servers: url });
    }
  });

  afterEach(async () => {
    await app?.close();
    if (nats) {
      await (await jetstreamManager(nats)).streams.delete(streamName).catch(() => undefined);
      await nats.close();
    }
    await t.cleanup();
  });

  it('counts deliveries, redeliveries and dead letters by consumer, LLM spend, escalations, consumer lag and incidents by status', async () => {
    const registry = new Registry();
    const connection: EventBusConnection = { pool: t.pool, databaseUrl: t.databaseUrl, schema: t.schema, nats, producer: { service: 'metered', instance: 'test' }, metrics: registry };
    app = await startApp(connection, transport === 'jetstream' ? { streamName, subjectPrefix } : {});
    const incident = randomUUID();
    // Appended through the service's store: counted as this instance's appends.
    await app.get<EventStore>(EVENT_STORE).appendToStream(`incident-${incident}`, events(incident));

    let text = '';
    await waitFor(
      async () => {
        text = await registry.metrics();
        return (sample(text, 'antibody_bus_dead_letters_total', { consumer: 'metered-MeteredReactor-poison' }) ?? 0) >= 1 && (sample(text, 'antibody_llm_spend_usd_total') ?? 0) > 0;
      },
      { timeoutMs: 30_000, description: 'a dead letter and the metered call' },
    );
    expect(sample(text, 'antibody_bus_deliveries_total', { consumer: 'metered-MeteredReactor-escalate', outcome: 'ack' })).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'antibody_bus_deliveries_total', { consumer: 'metered-MeteredReactor-escalate', outcome: 'retry' })).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'antibody_bus_redeliveries_total', { consumer: 'metered-MeteredReactor-escalate' })).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'antibody_bus_deliveries_total', { consumer: 'metered-MeteredReactor-poison', outcome: 'dead-lettered' })).toBe(1);
    expect(sample(text, 'antibody_events_appended_total', { type: 'DiagnosisFailed' })).toBe(1);
    expect(sample(text, 'antibody_llm_tokens_total', { model: 'm-small', kind: 'prompt' })).toBe(120);
    expect(sample(text, 'antibody_llm_tokens_total', { model: 'm-small', kind: 'completion' })).toBe(30);
    expect(sample(text, 'antibody_llm_spend_usd_total', { model: 'm-small', step: 'diagnosis' })).toBe(0.25);
    expect(sample(text, 'antibody_llm_calls_total', { model: 'm-small', tier: 'small', step: 'diagnosis' })).toBe(1);
    expect(sample(text, 'antibody_incidents_escalated_total', { step: 'diagnosis', budget: 'daily' })).toBe(1);

    // Gauges read at scrape time: every consumer reports its lag, which drains to 0.
    await waitFor(
      async () => {
        text = await registry.metrics();
        return sample(text, 'antibody_bus_consumer_pending_messages', { consumer: 'metered-MeteredReactor-escalate' }) === 0 && sample(text, 'antibody_incidents', { status: 'escalated' }) === 1;
      },
      { timeoutMs: 30_000, description: 'consumers caught up and the incident folded' },
    );
    expect(sample(text, 'antibody_bus_consumer_pending_messages', { consumer: 'metered-MeteredReactor-poison' })).toBe(0);
    expect(sample(text, 'antibody_bus_consumer_ack_pending_messages', { consumer: 'metered-MeteredReactor-escalate' })).toBe(0);
    // An ended incident is held as its status alone; reopened, it is folded again from its stream.
    await app.get<EventStore>(EVENT_STORE).appendToStream(`incident-${incident}`, [{ type: 'IncidentReopened', data: { reason: 'seen again' }, metadata: testMetadata() }]);
    await waitFor(async () => sample(await registry.metrics(), 'antibody_incidents', { status: 'diagnosing' }) === 1, { timeoutMs: 30_000, description: 'the reopened incident' });
    expect(sample(await registry.metrics(), 'antibody_incidents', { status: 'escalated' }) ?? 0).toBe(0);
    if (transport === 'jetstream') {
      await waitFor(async () => sample(await registry.metrics(), 'antibody_relay_lag_events') === 0, { timeoutMs: 20_000, description: 'the relay caught up' });
      text = await registry.metrics();
      expect(sample(text, 'antibody_relay_active')).toBe(1);
      expect(sample(text, 'antibody_relay_lag_seconds')).toBe(0);
    } else {
      expect(sample(text, 'antibody_relay_active')).toBe(0);
      // No relay without NATS: standbys and embedded instances report 0, so max() over instances is the lag.
      expect(sample(text, 'antibody_relay_lag_events')).toBe(0);
    }
  });

  it('derives validation verdicts and durations, judge decisions and notices from the events the service appends, duplicates excluded', async () => {
    const registry = new Registry();
    const connection: EventBusConnection = { pool: t.pool, databaseUrl: t.databaseUrl, schema: t.schema, nats, producer: { service: 'metered', instance: 'test' }, metrics: registry };
    app = await startApp(connection, transport === 'jetstream' ? { streamName, subjectPrefix } : {});
    const store = app.get<EventStore>(EVENT_STORE);
    const stream = `incident-${randomUUID()}`;
    const meta = testMetadata({ correlationId: stream });
    const decided: NewEvent[] = [
      { type: 'PatchValidated', data: { ...fixture('PatchValidated'), durationMs: 42_000 }, metadata: meta },
      { type: 'PatchRejected', data: { ...fixture('PatchRejected'), durationMs: 7_000 }, metadata: meta },
      { type: 'StageAdvanced', data: fixture('StageAdvanced'), metadata: meta },
      { type: 'StageAdvanced', data: fixture('StageAdvanced'), metadata: meta },
      { type: 'RolledBack', data: fixture('RolledBack'), metadata: meta },
      { type: 'RolloutCompleted', data: fixture('RolloutCompleted'), metadata: meta },
    ].map((e) => ({ ...e, eventId: randomUUID() }));
    await store.appendToStream(stream, decided);
    await store.appendToStream(stream, decided); // a retry with the same ids changes nothing
    const delivered = fixture('NoticeDelivered');
    if (delivered) {
      await store.appendToStream(`notice-${randomUUID()}`, [{ type: 'NoticeDelivered', data: { ...delivered, channel: 'slack-abc', noticeIds: [randomUUID(), randomUUID()] }, metadata: meta }]);
    }

    const text = await registry.metrics();
    expect(sample(text, 'antibody_validation_verdicts_total', { verdict: 'validated', stage: 'none' })).toBe(1);
    expect(sample(text, 'antibody_validation_verdicts_total', { verdict: 'rejected', stage: 'tests' })).toBe(1);
    expect(sample(text, 'antibody_validation_duration_seconds_sum', { verdict: 'validated' })).toBe(42);
    expect(sample(text, 'antibody_validation_duration_seconds_count', { verdict: 'rejected' })).toBe(1);
    expect(sample(text, 'antibody_judge_decisions_total', { decision: 'advanced' })).toBe(2);
    expect(sample(text, 'antibody_judge_decisions_total', { decision: 'rolled-back', cause: 'error-regression' })).toBe(1);
    expect(sample(text, 'antibody_judge_decisions_total', { decision: 'completed' })).toBe(1);
    expect(sample(text, 'antibody_events_appended_total', { type: 'StageAdvanced' })).toBe(2);
    if (delivered) expect(sample(text, 'antibody_notices_total', { outcome: 'delivered', channel_type: 'slack' })).toBe(2);
  });
});
