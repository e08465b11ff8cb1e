import { decideOccurrences, type FingerprintState, type Occurrence } from './incident';
import type { ErrorReport } from './report';

const report = (release: string, receivedAt = '2026-01-01T10:00:00.000Z'): ErrorReport => ({
  kind: 'error',
  eventId: '00000000-0000-4000-8000-000000000001',
  service: 'shop',
  source: 'sentry',
  exception: { type: 'TypeError', value: 'boom' },
  frames: [{ filename: '/app/src/cart.ts', function: 'total', lineno: 3, inApp: true }],
  release,
  environment: 'production',
  tags: {},
  receivedAt,
});
/** An occurrence whose full report is read only for samples; `reads` counts those reads. */
const occurrence = (release = '1.0.0', reads = { count: 0 }): Occurrence => {
  const full = report(release);
  return {
    summary: { service: full.service, exception: full.exception, release: full.release!, environment: full.environment!, receivedAt: full.receivedAt },
    grouping: { fingerprint: 'fp', basis: 'in-app-frames', components: [], culprit: 'src/cart.ts in total' },
    report: () => {
      reads.count += 1;
      return full;
    },
  };
};
const NEW_ID = '11111111-1111-4111-8111-111111111111';

// given (fingerprint state) / when (occurrences) / then (events and next state)
describe('decideOccurrences', () => {
  it('given an unknown fingerprint, when it occurs, then IncidentOpened and the first samples', () => {
    const decision = decideOccurrences(undefined, [occurrence(), occurrence(), occurrence()], { samplesPerIncident: 2, newIncidentId: NEW_ID });
    expect(decision.events.map((e) => e.event.type)).toEqual(['IncidentOpened', 'ErrorRecorded', 'ErrorRecorded']);
    expect(decision.events[0]!.event.data).toMatchObject({ incidentId: NEW_ID, service: 'shop', fingerprint: 'fp', release: '1.0.0', culprit: 'src/cart.ts in total', firstSeen: '2026-01-01T10:00:00.000Z' });
    expect(decision).toMatchObject({ incidentId: NEW_ID, opened: true, next: { incidentId: NEW_ID, status: 'open', samples: 2 } });
  });

  it('given an open incident with its samples taken, when it occurs again, then it is only counted', () => {
    const state: FingerprintState = { incidentId: 'abc', status: 'open', samples: 2 };
    const reads = { count: 0 };
    const decision = decideOccurrences(state, [occurrence('1.0.0', reads), occurrence('1.0.0', reads)], { samplesPerIncident: 2, newIncidentId: NEW_ID });
    expect(decision.events).toEqual([]);
    expect(decision).toMatchObject({ incidentId: 'abc', opened: false, next: state });
    expect(reads.count).toBe(0); // counting needs no full report
  });

  it('given room for one sample, when three occur, then only that sample is read in full', () => {
    const reads = { count: 0 };
    const decision = decideOccurrences({ incidentId: 'abc', status: 'open', samples: 1 }, [1, 2, 3].map(() => occurrence('1.0.0', reads)), { samplesPerIncident: 2, newIncidentId: NEW_ID });
    expect(decision.events.map((e) => e.event.type)).toEqual(['ErrorRecorded']);
    expect(decision.events[0]!.event.data).toMatchObject({ exception: { type: 'TypeError', value: 'boom' }, frames: [{ filename: '/app/src/cart.ts', function: 'total' }] });
    expect(reads.count).toBe(1);
  });

  it('given an open incident with room for samples, when it occurs, then one more ErrorRecorded', () => {
    const decision = decideOccurrences({ incidentId: 'abc', status: 'open', samples: 1 }, [occurrence(), occurrence()], { samplesPerIncident: 2, newIncidentId: NEW_ID });
    expect(decision.events.map((e) => e.event.type)).toEqual(['ErrorRecorded']);
  });

  it('given a resolved incident, when it occurs again, then IncidentReopened with the release and fresh samples', () => {
    const decision = decideOccurrences({ incidentId: 'abc', status: 'resolved', samples: 5 }, [occurrence('1.0.1')], { samplesPerIncident: 5, newIncidentId: NEW_ID });
    expect(decision.events.map((e) => e.event.type)).toEqual(['IncidentReopened', 'ErrorRecorded']);
    expect(decision.events[0]!.event.data).toEqual({ reason: 'seen again after it was resolved (release 1.0.1)', release: '1.0.1' });
    expect(decision.next).toEqual({ incidentId: 'abc', status: 'open', samples: 1 });
  });
});
