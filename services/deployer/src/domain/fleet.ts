// What a fleet host agent serves, folded from its `fleet-<service>` stream. The agent rebuilds its
// state from it at start (so a restart keeps a promoted release and a running canary, with counts
// that never go backwards), and answers each traffic-change request exactly once.
import { isEvent, type EventData, type FleetEvent, type RecordedEvent } from '@antibody/contracts';

export type { FleetEvent };

export type ArmCounts = EventData<'TrafficChanged'>['counts']['canary'];
export interface FleetCounts {
  readonly canary: ArmCounts;
  readonly stable: ArmCounts;
}

export interface FleetRelease {
  readonly release: string;
  readonly entry: string;
}

export interface FleetView {
  readonly stable: FleetRelease;
  readonly canary: (FleetRelease & { readonly percent: number }) | null;
  /** The latest counts recorded for the running canary (zeros when none). */
  readonly counts: FleetCounts;
  readonly slowThresholdMs: number | null;
  /** Requests already answered (changed or refused), by request id. */
  readonly answered: ReadonlySet<string>;
  /** Requests seen and not answered yet, in stream order. */
  readonly pending: readonly EventData<'TrafficChangeRequested'>[];
}

export const ZERO_COUNTS: FleetCounts = { canary: { requests: 0, errors: 0, slow: 0 }, stable: { requests: 0, errors: 0, slow: 0 } };

/** Before any event: the stable release of the agent's configuration, no canary. */
export function initialFleetView(stable: FleetRelease): FleetView {
  return { stable, canary: null, counts: ZERO_COUNTS, slowThresholdMs: null, answered: new Set(), pending: [] };
}

/**
 * The counts of one canary after another record of them. Counts only grow, but the agent appends
 * its periodic reports and its answers concurrently, so a report read before an answer may land
 * after it in the stream: the component-wise maximum is the latest truth.
 */
export function latestCounts(known: FleetCounts, recorded: FleetCounts): FleetCounts {
  const arm = (a: ArmCounts, b: ArmCounts): ArmCounts => ({ requests: Math.max(a.requests, b.requests), errors: Math.max(a.errors, b.errors), slow: Math.max(a.slow, b.slow) });
  return { canary: arm(known.canary, recorded.canary), stable: arm(known.stable, recorded.stable) };
}

type ServedState = Pick<EventData<'TrafficChanged'>, 'stableRelease' | 'stableEntry' | 'canaryRelease' | 'canaryEntry' | 'canaryPercent' | 'counts' | 'slowThresholdMs'>;

function served(view: FleetView, s: ServedState): FleetView {
  const canary = s.canaryRelease !== null && s.canaryEntry !== null ? { release: s.canaryRelease, entry: s.canaryEntry, percent: s.canaryPercent } : null;
  const counts = !canary ? ZERO_COUNTS : view.canary?.release === canary.release ? latestCounts(view.counts, s.counts) : s.counts;
  return { ...view, stable: { release: s.stableRelease, entry: s.stableEntry }, canary, counts, slowThresholdMs: canary ? s.slowThresholdMs : null };
}

function answer(view: FleetView, requestId: string): Pick<FleetView, 'answered' | 'pending'> {
  return { answered: new Set(view.answered).add(requestId), pending: view.pending.filter((p) => p.requestId !== requestId) };
}

/** The view after one more event of the stream. Pure. */
export function evolveFleet(view: FleetView, event: FleetEvent): FleetView {
  switch (event.type) {
    case 'TrafficChangeRequested':
      if (view.answered.has(event.data.requestId) || view.pending.some((p) => p.requestId === event.data.requestId)) return view;
      return { ...view, pending: [...view.pending, event.data] };
    case 'TrafficChanged':
      return { ...served(view, event.data), ...answer(view, event.data.requestId) };
    case 'TrafficChangeRefused':
      return { ...view, ...answer(view, event.data.requestId) };
    case 'FleetCountsReported':
      // Only counts of the canary the view serves; a late report of an older one changes nothing.
      return view.canary?.release === event.data.canaryRelease ? { ...view, counts: latestCounts(view.counts, event.data.counts) } : view;
    case 'ReplicaFailed':
      return view;
    default: {
      const unexpected: never = event;
      throw new Error(`unexpected fleet event ${(unexpected as { type: string }).type}`);
    }
  }
}

/** An event of a `fleet-<service>` stream. */
export const isFleetEvent = isEvent('TrafficChangeRequested', 'TrafficChanged', 'TrafficChangeRefused', 'FleetCountsReported', 'ReplicaFailed');

/** Folds events of a `fleet-<service>` stream (other types are ignored). */
export function fleetFromHistory(stable: FleetRelease, events: readonly (RecordedEvent | FleetEvent)[]): FleetView {
  return events.filter(isFleetEvent).reduce<FleetView>(evolveFleet, initialFleetView(stable));
}

/** A request the agent must not carry out, and why; undefined when it may. */
export function refusal(view: FleetView, request: EventData<'TrafficChangeRequested'>, now: number): string | undefined {
  if (request.action !== 'rollback' && request.expiresAt !== undefined && Date.parse(request.expiresAt) < now) {
    return `the request expired at ${request.expiresAt} before the agent saw it`;
  }
  switch (request.action) {
    case 'start-canary':
      if (view.canary && view.canary.release !== request.release) return `a rollout of ${view.canary.release} is already running`;
      if (!view.canary && view.stable.release === request.release) return `${request.release} is already the stable release`;
      return undefined;
    case 'set-stage':
      if (view.canary?.release !== request.release) return view.canary ? `the canary is ${view.canary.release}, not ${request.release}` : `no rollout of ${request.release} is running`;
      return undefined;
    case 'rollback':
      // Rolling back what does not run is done already: answered as a change, never refused.
      return undefined;
    default: {
      const unexpected: never = request.action;
      throw new Error(`unexpected action ${String(unexpected)}`);
    }
  }
}

/** Counts since a canary started: what was recorded before a restart plus what the proxy counted since. */
export function addCounts(base: FleetCounts, since: FleetCounts): FleetCounts {
  const add = (a: ArmCounts, b: ArmCounts): ArmCounts => ({ requests: a.requests + b.requests, errors: a.errors + b.errors, slow: a.slow + b.slow });
  return { canary: add(base.canary, since.canary), stable: add(base.stable, since.stable) };
}
