import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { foldEvents, type RecordedEvent } from '@antibody/contracts';
import { incidentFold, type IncidentState } from '@antibody/domain';
import { START, type AppendResult, type Checkpoint, type EventStore, type NewEvent } from '@antibody/event-store';
import type { Disposition } from './handling';

/**
 * Every metric the bus registers, by name: the names dashboards and alert rules may use
 * (infra/test/observability.spec.ts checks them against this list).
 */
export const BUS_METRIC_NAMES = {
  deliveries: 'antibody_bus_deliveries_total',
  redeliveries: 'antibody_bus_redeliveries_total',
  deadLetters: 'antibody_bus_dead_letters_total',
  consumerPending: 'antibody_bus_consumer_pending_messages',
  consumerAckPending: 'antibody_bus_consumer_ack_pending_messages',
  consumerRedelivered: 'antibody_bus_consumer_redelivered_messages',
  relayLagEvents: 'antibody_relay_lag_events',
  relayLagSeconds: 'antibody_relay_lag_seconds',
  relayActive: 'antibody_relay_active',
  eventsAppended: 'antibody_events_appended_total',
  validationVerdicts: 'antibody_validation_verdicts_total',
  validationDuration: 'antibody_validation_duration_seconds',
  judgeDecisions: 'antibody_judge_decisions_total',
  llmCalls: 'antibody_llm_calls_total',
  llmTokens: 'antibody_llm_tokens_total',
  llmSpend: 'antibody_llm_spend_usd_total',
  escalations: 'antibody_incidents_escalated_total',
  notices: 'antibody_notices_total',
  incidents: 'antibody_incidents',
} as const;

/** How far one durable consumer is behind, as its transport sees it. */
export interface ConsumerLag {
  /** Events not yet delivered to the consumer. */
  readonly pending: number;
  /** Delivered, not yet acknowledged (JetStream only; 0 on the store log). */
  readonly ackPending: number;
  /** Messages delivered more than once and not yet acknowledged (JetStream only). */
  readonly redelivered: number;
}

/** What the bus reads when Prometheus scrapes; each probe may fail, its metric is then left out. */
export interface BusProbes {
  /** The relay's checkpoint while this instance runs the active relay, else undefined. */
  relayCheckpoint?(): Promise<Checkpoint | undefined>;
  /** Lag of each durable consumer this instance runs. */
  consumerLag?(): Promise<ReadonlyMap<string, ConsumerLag>>;
  /** True while this instance computes the store-wide gauges (incidents by status): the active relay. */
  storeWide?(): boolean;
}

/**
 * The bus's instruments on a service's registry: deliveries and redeliveries by consumer, dead
 * letters, consumer and relay lag, and the domain metrics derived from the events the service
 * appends (see {@link BusMetrics.observeStore}). A failing probe never breaks a scrape.
 */
export interface BusMetrics {
  /** Counts one handled delivery. */
  delivered(consumer: string, deliveryCount: number, disposition: Disposition): void;
  /**
   * The store, observed: every successful, non-duplicate append is counted by type, and
   * LlmCallMetered, PatchValidated/PatchRejected, StageAdvanced/RolledBack/RolloutCompleted,
   * IncidentEscalated and MessageDeadLettered feed their own metrics. All other calls pass through.
   */
  observeStore(store: EventStore): EventStore;
  /** Sets what the scrape-time gauges read (the relay, the consumers). */
  setProbes(probes: BusProbes): void;
}

/** Registers the bus metrics on `registry` (idempotent per registry). */
export function createBusMetrics(registry: Registry): BusMetrics {
  const existing = registries.get(registry);
  if (existing) return existing;
  const metrics = new PromBusMetrics(registry);
  registries.set(registry, metrics);
  return metrics;
}

const registries = new WeakMap<Registry, BusMetrics>();

class PromBusMetrics implements BusMetrics {
  private probes: BusProbes = {};
  private store: EventStore | undefined;
  private readonly incidents = new IncidentStatusFold();
  private readonly deliveries: Counter<'consumer' | 'outcome'>;
  private readonly redeliveries: Counter<'consumer'>;
  private readonly deadLetters: Counter<'consumer'>;
  private readonly appended: Counter<'type'>;
  private readonly verdicts: Counter<'verdict' | 'stage'>;
  private readonly validationSeconds: Histogram<'verdict'>;
  private readonly judge: Counter<'decision' | 'cause'>;
  private readonly llmCalls: Counter<'model' | 'tier' | 'step'>;
  private readonly llmTokens: Counter<'model' | 'kind'>;
  private readonly llmSpend: Counter<'model' | 'step'>;
  private readonly escalations: Counter<'step' | 'budget'>;
  private readonly notices: Counter<'outcome' | 'channel_type'>;

  constructor(registry: Registry) {
    const registers = [registry];
    const n = BUS_METRIC_NAMES;
    this.deliveries = new Counter({ name: n.deliveries, help: 'Deliveries handled, by durable consumer and outcome (ack, retry, dead-lettered).', labelNames: ['consumer', 'outcome'], registers });
    this.redeliveries = new Counter({ name: n.redeliveries, help: 'Deliveries of an event already delivered before to the consumer.', labelNames: ['consumer'], registers });
    this.deadLetters = new Counter({ name: n.deadLetters, help: 'Messages this instance dead-lettered (MessageDeadLettered appended), by consumer.', labelNames: ['consumer'], registers });
    this.appended = new Counter({ name: n.eventsAppended, help: 'Events this instance appended to the store (duplicates excluded), by type.', labelNames: ['type'], registers });
    this.verdicts = new Counter({ name: n.validationVerdicts, help: 'Validation verdicts appended: validated, or rejected at a stage.', labelNames: ['verdict', 'stage'], registers });
    this.validationSeconds = new Histogram({
      name: n.validationDuration,
      help: 'Duration of a validation (the verdict durationMs), in seconds.',
      labelNames: ['verdict'],
      buckets: [5, 15, 30, 60, 120, 300, 600, 1200, 1800],
      registers,
    });
    this.judge = new Counter({ name: n.judgeDecisions, help: 'Canary judge decisions: stage advanced, rolled back (by cause), completed.', labelNames: ['decision', 'cause'], registers });
    this.llmCalls = new Counter({ name: n.llmCalls, help: 'Metered LLM calls, by model, tier and step.', labelNames: ['model', 'tier', 'step'], registers });
    this.llmTokens = new Counter({ name: n.llmTokens, help: 'LLM tokens, by model and kind (prompt, completion).', labelNames: ['model', 'kind'], registers });
    this.llmSpend = new Counter({ name: n.llmSpend, help: 'LLM spend in US dollars, by model and step.', labelNames: ['model', 'step'], registers });
    this.escalations = new Counter({ name: n.escalations, help: 'Incidents escalated to a person, by step and budget scope ("none" when no budget was exceeded).', labelNames: ['step', 'budget'], registers });

    this.notices = new Counter({
      name: n.notices,
      help: 'Notices to people from the outbox, by outcome (requested, delivered, failed) and channel type (slack, webhook); a digest counts each notice it carried.',
      labelNames: ['outcome', 'channel_type'],
      registers,
    });
    const probes = (): BusProbes => this.probes;
    const consumerGauges = (name: string, help: string, pick: (lag: ConsumerLag) => number): Gauge<'consumer'> =>
      new Gauge({
        name,
        help,
        labelNames: ['consumer'],
        registers,
        async collect() {
          this.reset();
          const lags = await probes().consumerLag?.().catch(() => undefined);
          for (const [consumer, lag] of lags ?? []) this.set({ consumer }, pick(lag));
        },
      });
    consumerGauges(n.consumerPending, 'Events not yet delivered to the durable consumer.', (lag) => lag.pending);
    consumerGauges(n.consumerAckPending, 'Events delivered to the durable consumer and not yet acknowledged.', (lag) => lag.ackPending);
    consumerGauges(n.consumerRedelivered, 'Unacknowledged events delivered more than once to the durable consumer.', (lag) => lag.redelivered);

    const relayLag = (): Promise<{ events: number; seconds: number } | undefined> => this.relayLag();
    const incidentCounts = async (): Promise<ReadonlyMap<string, number> | undefined> =>
      this.store && probes().storeWide?.() ? this.incidents.catchUp(this.store) : undefined;
    new Gauge({
      name: n.relayActive,
      help: '1 while this instance runs the active store -> JetStream relay.',
      registers,
      async collect() {
        const checkpoint = await probes().relayCheckpoint?.().catch(() => undefined);
        this.set(checkpoint ? 1 : 0);
      },
    });
    new Gauge({
      name: n.relayLagEvents,
      help: 'Events appended to the store and not yet published by the relay (head position minus relay checkpoint; an upper bound). Standby instances report 0: max() over instances is the lag.',
      registers,
      async collect() {
        this.reset();
        const lag = await relayLag().catch(() => undefined);
        if (lag) this.set(lag.events);
      },
    });
    new Gauge({
      name: n.relayLagSeconds,
      help: 'Age in seconds of the oldest event the relay has not published (0 when caught up). Standby instances report 0: max() over instances is the lag.',
      registers,
      async collect() {
        this.reset();
        const lag = await relayLag().catch(() => undefined);
        if (lag) this.set(lag.seconds);
      },
    });
    new Gauge({
      name: n.incidents,
      help: 'Incidents by status, folded from the store by the instance running the active relay (every instance in embedded mode): take max() over instances.',
      labelNames: ['status'],
      registers,
      async collect() {
        this.reset();
        const counts = await incidentCounts().catch(() => undefined);
        for (const [status, count] of counts ?? []) this.set({ status }, count);
      },
    });
  }

  setProbes(probes: BusProbes): void {
    this.probes = probes;
  }

  delivered(consumer: string, deliveryCount: number, disposition: Disposition): void {
    this.deliveries.inc({ consumer, outcome: disposition.kind });
    if (deliveryCount > 1) this.redeliveries.inc({ consumer });
  }

  observeStore(store: EventStore): EventStore {
    this.store = store;
    const appendToStream = async (streamId: string, events: readonly NewEvent[], options?: Parameters<EventStore['appendToStream']>[2]): Promise<AppendResult> => {
      const result = await store.appendToStream(streamId, events, options);
      if (!result.duplicate) {
        try {
          for (const event of events) this.count(event);
        } catch {
          // Metrics never break an append.
        }
      }
      return result;
    };
    return new Proxy(store, {
      get(target, property) {
        if (property === 'appendToStream') return appendToStream;
        const value: unknown = Reflect.get(target, property, target);
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
  }

  private count(event: NewEvent): void {
    this.appended.inc({ type: event.type });
    const data = (event.data ?? {}) as Record<string, unknown>;
    const text = (key: string, fallback = 'unknown'): string => (typeof data[key] === 'string' && data[key] ? (data[key] as string) : fallback);
    const number = (key: string): number => (typeof data[key] === 'number' && Number.isFinite(data[key]) ? (data[key] as number) : 0);
    switch (event.type) {
      case 'LlmCallMetered': {
        const model = text('model');
        this.llmCalls.inc({ model, tier: text('tier'), step: text('step') });
        this.llmTokens.inc({ model, kind: 'prompt' }, number('promptTokens'));
        this.llmTokens.inc({ model, kind: 'completion' }, number('completionTokens'));
        this.llmSpend.inc({ model, step: text('step') }, number('costUsd'));
        return;
      }
      case 'PatchValidated':
      case 'PatchRejected': {
        const verdict = event.type === 'PatchValidated' ? 'validated' : 'rejected';
        this.verdicts.inc({ verdict, stage: verdict === 'validated' ? 'none' : text('stage') });
        if (typeof data['durationMs'] === 'number') this.validationSeconds.observe({ verdict }, number('durationMs') / 1000);
        return;
      }
      case 'StageAdvanced':
        this.judge.inc({ decision: 'advanced', cause: 'none' });
        return;
      case 'RolledBack':
        this.judge.inc({ decision: 'rolled-back', cause: text('cause') });
        return;
      case 'RolloutCompleted':
        this.judge.inc({ decision: 'completed', cause: 'none' });
        return;
      case 'IncidentEscalated': {
        const budget = data['budgetExceeded'] as { scope?: unknown } | undefined;
        this.escalations.inc({ step: text('step'), budget: typeof budget?.scope === 'string' ? budget.scope : 'none' });
        return;
      }
      case 'NoticeRequested':
      case 'NoticeDelivered':
      case 'NoticeFailed': {
        const outcome = event.type === 'NoticeRequested' ? 'requested' : event.type === 'NoticeDelivered' ? 'delivered' : 'failed';
        const channelType = text('channel').split('-')[0] ?? 'unknown';
        const carried = Array.isArray(data['noticeIds']) ? data['noticeIds'].length : 1;
        this.notices.inc({ outcome, channel_type: channelType }, carried);
        return;
      }
      case 'MessageDeadLettered':
        this.deadLetters.inc({ consumer: text('consumer') });
        return;
      default:
        return;
    }
  }

  private async relayLag(): Promise<{ events: number; seconds: number } | undefined> {
    const store = this.store;
    const checkpoint = await this.probes.relayCheckpoint?.();
    if (!store || !checkpoint) return undefined;
    const head = await store.headCheckpoint();
    const events = Math.max(0, Number(head.position) - Number(checkpoint.position));
    if (events === 0) return { events: 0, seconds: 0 };
    const { events: next } = await store.readAll({ after: checkpoint, limit: 1 });
    const oldest = next[0]?.recordedAt;
    const seconds = oldest ? Math.max(0, (Date.now() - new Date(oldest).getTime()) / 1000) : 0;
    return { events: next.length === 0 ? 0 : events, seconds };
  }
}

/**
 * Incidents by status: the shared incident fold, caught up from the store at each scrape. Only
 * incidents still under way are held folded; an ended one (resolved, escalated, closed) is held as its
 * status alone, so memory follows the incidents in flight, not every incident ever seen. A later
 * event of an ended incident (a reopening, a person's decision) folds its stream again from the store.
 */
class IncidentStatusFold {
  private readonly held = new Map<string, { readonly state: IncidentState } | { readonly ended: IncidentState['status'] }>();
  private after: Checkpoint = START;
  private running: Promise<ReadonlyMap<string, number>> | undefined;

  catchUp(store: EventStore): Promise<ReadonlyMap<string, number>> {
    this.running ??= this.read(store).finally(() => (this.running = undefined));
    return this.running;
  }

  private async read(store: EventStore): Promise<ReadonlyMap<string, number>> {
    // Bounded per scrape: a large backlog is folded over several scrapes.
    for (let page = 0; page < 20; page++) {
      const { events, checkpoint } = await store.readAll({ after: this.after, limit: 1000 });
      for (const event of events) await this.evolve(store, event);
      this.after = checkpoint;
      if (events.length < 1000) break;
    }
    const counts = new Map<string, number>();
    for (const held of this.held.values()) {
      const status = 'ended' in held ? held.ended : held.state.status;
      counts.set(status, (counts.get(status) ?? 0) + 1);
    }
    return counts;
  }

  private async evolve(store: EventStore, event: RecordedEvent): Promise<void> {
    if (!event.streamId.startsWith('incident-')) return;
    const held = this.held.get(event.streamId);
    const state =
      held && 'ended' in held
        ? foldEvents(incidentFold, (await store.readStream(event.streamId, { toVersion: event.streamVersion })).events)
        : incidentFold.evolve(held?.state ?? incidentFold.initialState(), event);
    this.held.set(event.streamId, state.status === 'resolved' || state.status === 'escalated' || state.status === 'closed' ? { ended: state.status } : { state });
  }
}
