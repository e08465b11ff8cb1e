// Drives a fleet agent by events: its inbox and its record are the service's `fleet-<service>`
// stream. At start the agent folds that stream (what it serves survives a restart), then consumes
// `TrafficChangeRequested` over the bus (JetStream, or the store's own log without NATS), carries
// each request out once and appends `TrafficChanged` or `TrafficChangeRefused`; while a canary runs
// it records the proxy's counts (`FleetCountsReported`) for the deployer's judge, and it records
// replica failures (`ReplicaFailed`).
import type { EventData, FleetEvent, RecordedEvent } from '@antibody/contracts';
import { appendTraced, type Consumer, type EventBus, type Producer } from '@antibody/bus';
import { deterministicEventId, type EventStore } from '@antibody/event-store';
import { evolveFleet, fleetFromHistory, isFleetEvent, refusal, type FleetView } from '../domain/fleet';
import { FleetAgent, type FleetAgentConfig, type ServedState } from './agent';
import type { SupervisorReport } from './supervisor';

type Request = EventData<'TrafficChangeRequested'>;

export interface FleetDriverOptions {
  readonly store: EventStore;
  readonly bus: EventBus;
  readonly producer: Producer;
  readonly log: (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;
  readonly now?: () => number;
}

/** The running agent with its event wiring. */
export interface FleetDriver {
  readonly agent: FleetAgent;
  readonly port: number;
  readonly statusPort: number;
  /** Stops taking requests and reporting, then drains every replica. */
  stop(): Promise<void>;
}

/** The durable consumer of a service's fleet agent (one agent per service). */
export function fleetDurable(service: string): string {
  return `fleet-agent-${service.replace(/[^A-Za-z0-9_-]/g, '_')}`.slice(0, 64);
}

export async function startFleetDriver(config: FleetAgentConfig, options: FleetDriverOptions): Promise<FleetDriver> {
  const { store, producer, log } = options;
  const now = options.now ?? Date.now;
  const streamId = `fleet-${config.service}`;
  const initial = await store.readStream(streamId);
  let view: FleetView = fleetFromHistory(config.stable, initial.events);
  let nextVersion = (initial.events[initial.events.length - 1]?.streamVersion ?? -1) + 1;

  /** Where each request was recorded: its answer is derived from that event. */
  const requestEvents = new Map<string, { eventId: string; correlationId: string }>();
  /** The requests this store records, by the id of the event recording them. */
  const recordedRequests = new Map<string, Request>();
  const remember = (events: readonly RecordedEvent[]) => {
    for (const e of events) {
      if (e.type !== 'TrafficChangeRequested') continue;
      requestEvents.set(e.data.requestId, { eventId: e.eventId, correlationId: e.metadata.correlationId });
      recordedRequests.set(e.eventId, e.data);
    }
  };
  remember(initial.events);
  /** Folds what was appended to the stream since the last look (by this agent or the deployer). */
  const refresh = async () => {
    const { events } = await store.readStream(streamId, { fromVersion: nextVersion });
    remember(events);
    for (const e of events) {
      if (isFleetEvent(e)) view = evolveFleet(view, e);
      nextVersion = e.streamVersion + 1;
    }
  };
  const append = (event: FleetEvent, cause: { eventId: string; correlationId: string } | undefined, eventId?: string) =>
    appendTraced(store, streamId, [event], { producer, correlationId: cause?.correlationId ?? streamId, causationId: cause?.eventId ?? null, ...(eventId ? { eventIds: [eventId] } : {}) });

  const onReport = (report: SupervisorReport) => {
    log(report.kind === 'drained' || report.kind === 'restarted' ? 'info' : 'warn', 'fleet report', { service: config.service, ...report });
    if (report.kind !== 'crashed' && report.kind !== 'resource-limit' && report.kind !== 'gave-up') return;
    const replica = agent.stable.concat(agent.canary).find((r) => r.id === report.replica);
    const data: EventData<'ReplicaFailed'> = { replica: report.replica, release: report.release, kind: report.kind, detail: report.detail, restarts: replica?.restarts ?? 0, at: report.at };
    append({ type: 'ReplicaFailed', data }, undefined).catch((error: Error) => log('error', `could not record a replica failure: ${error.message}`));
  };
  const agent = new FleetAgent(config, onReport);
  const ports = await agent.start(view);
  log('info', `serving ${view.stable.release}${view.canary ? ` and canary ${view.canary.release} at ${view.canary.percent}%` : ''}`, { service: config.service, ...ports });

  // Requests are carried out one at a time, in stream order, whoever delivers them.
  let queue: Promise<void> = Promise.resolve();
  const serially = (work: () => Promise<void>) => {
    const run = queue.then(work);
    queue = run.catch(() => undefined);
    return run;
  };

  const carryOut = async (event: { eventId: string; correlationId: string }, request: Request) => {
    await refresh();
    // Only what this store records is an order (a shared NATS may carry another installation's).
    if (requestEvents.get(request.requestId)?.eventId !== event.eventId) return;
    if (view.answered.has(request.requestId)) return;
    // A second delivery (or a crash before the answer) never acts twice: the answer's id is derived from the request's.
    const answerId = deterministicEventId(event.eventId, 'fleet-agent', 0);
    const refused = refusal(view, request, now());
    if (refused) {
      log('warn', `refused ${request.action} of ${request.release}: ${refused}`, { service: config.service, requestId: request.requestId });
      await append({ type: 'TrafficChangeRefused', data: { requestId: request.requestId, action: request.action, reason: refused } }, event, answerId);
      return refresh();
    }
    let state: ServedState;
    try {
      if (request.action === 'start-canary') await agent.startCanary(request.release, request.entry as string);
      if (request.action === 'rollback') agent.rollback();
      if (request.action === 'set-stage') {
        const before = agent.served();
        await agent.setStage(request.percent as number);
        // A promotion ends the canary's counting: its answer carries the final counts.
        state = request.percent === 100 ? { ...agent.served(), counts: before.counts } : agent.served();
      }
      state ??= agent.served();
    } catch (error) {
      const reason = `could not ${request.action} ${request.release}: ${(error as Error).message}`;
      log('error', reason, { service: config.service, requestId: request.requestId });
      await append({ type: 'TrafficChangeRefused', data: { requestId: request.requestId, action: request.action, reason } }, event, answerId);
      return refresh();
    }
    log('info', `${request.action} ${request.release}${request.percent !== undefined ? ` ${request.percent}%` : ''} done`, { service: config.service, requestId: request.requestId });
    await append({ type: 'TrafficChanged', data: { requestId: request.requestId, action: request.action, ...state } }, event, answerId);
    await refresh();
  };

  /** Requests recorded and not answered (while no agent ran, or before the consumer existed), in order. */
  const catchUp = () =>
    serially(async () => {
      await refresh();
      for (const request of view.pending) {
        const event = requestEvents.get(request.requestId);
        if (event) await carryOut(event, request);
      }
    });
  await catchUp();

  const consumer: Consumer = await options.bus.consume(
    { durable: fleetDurable(config.service), types: ['TrafficChangeRequested'], from: 'now', handlerName: 'fleet-agent' },
    async (event) => {
      if (event.streamId !== streamId) return;
      await serially(async () => {
        await refresh();
        // The request as this store recorded it (a shared NATS may carry another installation's).
        const request = recordedRequests.get(event.eventId);
        if (request) await carryOut({ eventId: event.eventId, correlationId: event.metadata.correlationId }, request);
      });
    },
  );

  // The consumer starts at "now": what was appended while it was being created is caught up here.
  await catchUp();

  // The judge's input, recorded: an auditor can recompute every decision from these counts.
  let reporting = false;
  const reporter = setInterval(() => {
    if (reporting) return;
    const state = agent.served();
    if (state.canaryRelease === null || state.canaryEntry === null) return;
    reporting = true;
    append({ type: 'FleetCountsReported', data: { at: new Date(now()).toISOString(), ...state, canaryRelease: state.canaryRelease, canaryEntry: state.canaryEntry } }, undefined)
      .catch((error: Error) => log('warn', `could not record the counts: ${error.message}`))
      .finally(() => (reporting = false));
  }, config.reportEveryMs);
  reporter.unref();

  return {
    agent,
    ...ports,
    async stop() {
      clearInterval(reporter);
      await consumer.stop();
      await queue;
      await agent.stop();
    },
  };
}
