import type { EventData } from '@antibody/contracts';
import { describeEvent, evolve, initialCounts, type CountedEvent, type IncidentCounts } from './incident-counter';

function opened(stream: string, service: string): CountedEvent {
  const data = {
    incidentId: '7d0c8a4e-2f1b-4c3d-9e8f-0a1b2c3d4e5f',
    service,
    fingerprint: 'fp',
    exception: { type: 'TypeError', value: 'x is undefined' },
    firstSeen: '2026-01-01T00:00:00.000Z',
  } as EventData<'IncidentOpened'>;
  return { type: 'IncidentOpened', streamId: stream, data };
}

function resolved(stream: string): CountedEvent {
  return { type: 'IncidentResolved', streamId: stream, data: { resolution: 'deployed' } };
}

function given(events: readonly CountedEvent[]): IncidentCounts {
  return events.reduce(evolve, initialCounts());
}

describe('incident counter', () => {
  it('counts opened and open incidents per service', () => {
    const counts = given([opened('incident-a', 'checkout'), opened('incident-b', 'checkout'), opened('incident-c', 'search')]);
    expect(Object.fromEntries(counts.byService)).toEqual({ checkout: { opened: 2, open: 2 }, search: { opened: 1, open: 1 } });
  });

  it('closes a resolved incident under the service that opened it', () => {
    const counts = given([opened('incident-a', 'checkout'), opened('incident-b', 'checkout'), resolved('incident-a')]);
    expect(counts.byService.get('checkout')).toEqual({ opened: 2, open: 1 });
  });

  it('ignores a resolution of an incident it never saw opened, and a second resolution', () => {
    const before = given([opened('incident-a', 'checkout'), resolved('incident-a')]);
    expect(evolve(before, resolved('incident-a'))).toBe(before);
    expect(evolve(before, resolved('incident-z'))).toBe(before);
  });

  it('never changes the counts it is given', () => {
    const before = given([opened('incident-a', 'checkout')]);
    evolve(before, opened('incident-b', 'checkout'));
    evolve(before, resolved('incident-a'));
    expect(before.byService.get('checkout')).toEqual({ opened: 1, open: 1 });
    expect(before.serviceOfStream.size).toBe(1);
  });

  it('describes each event in one line with the counts after it', () => {
    const none = initialCounts();
    expect(describeEvent(none, opened('incident-a', 'checkout'))).toBe('IncidentOpened service=checkout incident=incident-a open=1 opened=1');
    const one = given([opened('incident-a', 'checkout')]);
    expect(describeEvent(one, resolved('incident-a'))).toBe(
      'IncidentResolved service=checkout incident=incident-a resolution=deployed open=0 opened=1',
    );
    expect(describeEvent(none, resolved('incident-z'))).toBe('IncidentResolved service=(unknown) incident=incident-z resolution=deployed open=0 opened=0');
  });
});
