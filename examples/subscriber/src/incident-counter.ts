import type { EventData } from '@antibody/contracts';

/** The two events the counter reads, with the stream they belong to (`incident-<id>`). */
export type CountedEvent =
  | { readonly type: 'IncidentOpened'; readonly streamId: string; readonly data: EventData<'IncidentOpened'> }
  | { readonly type: 'IncidentResolved'; readonly streamId: string; readonly data: EventData<'IncidentResolved'> };

/** Incidents of one service under care. */
export interface ServiceTally {
  /** Incidents opened so far. */
  readonly opened: number;
  /** Opened and not resolved yet. */
  readonly open: number;
}

export interface IncidentCounts {
  readonly byService: ReadonlyMap<string, ServiceTally>;
  /** Which service each open incident stream belongs to: IncidentResolved does not say. */
  readonly serviceOfStream: ReadonlyMap<string, string>;
}

/** Shown for an incident resolved without its IncidentOpened having been seen. */
export const UNKNOWN_SERVICE = '(unknown)';

export function initialCounts(): IncidentCounts {
  return { byService: new Map(), serviceOfStream: new Map() };
}

/** The counts after one more event. Pure: the given counts are not changed. */
export function evolve(counts: IncidentCounts, event: CountedEvent): IncidentCounts {
  switch (event.type) {
    case 'IncidentOpened': {
      const service = event.data.service;
      const tally = counts.byService.get(service) ?? { opened: 0, open: 0 };
      return {
        byService: new Map(counts.byService).set(service, { opened: tally.opened + 1, open: tally.open + 1 }),
        serviceOfStream: new Map(counts.serviceOfStream).set(event.streamId, service),
      };
    }
    case 'IncidentResolved': {
      const service = counts.serviceOfStream.get(event.streamId);
      const tally = service === undefined ? undefined : counts.byService.get(service);
      if (service === undefined || tally === undefined) return counts;
      const serviceOfStream = new Map(counts.serviceOfStream);
      serviceOfStream.delete(event.streamId);
      return { byService: new Map(counts.byService).set(service, { ...tally, open: Math.max(0, tally.open - 1) }), serviceOfStream };
    }
    default: {
      const unexpected: never = event;
      throw new Error(`unexpected event ${(unexpected as { type: string }).type}`);
    }
  }
}

/**
 * The line printed for an event, given the counts before it, e.g.
 * `IncidentOpened service=checkout incident=incident-1f… open=2 opened=3`.
 */
export function describeEvent(before: IncidentCounts, event: CountedEvent): string {
  const after = evolve(before, event);
  const service = event.type === 'IncidentOpened' ? event.data.service : (before.serviceOfStream.get(event.streamId) ?? UNKNOWN_SERVICE);
  const tally = after.byService.get(service) ?? { opened: 0, open: 0 };
  const detail = event.type === 'IncidentResolved' ? ` resolution=${event.data.resolution}` : '';
  return `${event.type} service=${service} incident=${event.streamId}${detail} open=${tally.open} opened=${tally.opened}`;
}
