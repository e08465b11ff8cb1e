import type { EventData } from '@antibody/contracts';
import { addCounts, evolveFleet, fleetFromHistory, initialFleetView, refusal, ZERO_COUNTS, type FleetEvent, type FleetView } from './fleet';

const STABLE = { release: 'shop@1', entry: '/srv/shop@1/server.js' };
const counts = (canary: number, stable: number) => ({ canary: { requests: canary, errors: 0, slow: 0 }, stable: { requests: stable, errors: 1, slow: 2 } });

function requested(requestId: string, action: EventData<'TrafficChangeRequested'>['action'], extra: Partial<EventData<'TrafficChangeRequested'>> = {}): FleetEvent {
  return { type: 'TrafficChangeRequested', data: { requestId, service: 'shop', action, release: 'shop@2', ...extra } as EventData<'TrafficChangeRequested'> };
}
function changed(requestId: string, action: EventData<'TrafficChanged'>['action'], canaryPercent: number | null, c = ZERO_COUNTS, stableRelease = 'shop@1'): FleetEvent {
  const canary = canaryPercent === null ? { canaryRelease: null, canaryEntry: null, canaryPercent: 0 } : { canaryRelease: 'shop@2', canaryEntry: '/srv/shop@2/server.js', canaryPercent };
  return { type: 'TrafficChanged', data: { requestId, action, stableRelease, stableEntry: `/srv/${stableRelease}/server.js`, ...canary, counts: c, slowThresholdMs: canaryPercent === null ? null : 120 } as EventData<'TrafficChanged'> };
}
const given = (events: FleetEvent[]): FleetView => events.reduce(evolveFleet, initialFleetView(STABLE));
const ID = (n: number) => `00000000-0000-4000-8000-00000000000${n}`;

describe('the fleet view, folded from fleet-<service>', () => {
  it('serves the configured stable release when the stream is empty', () => {
    expect(fleetFromHistory(STABLE, [])).toMatchObject({ stable: STABLE, canary: null, counts: ZERO_COUNTS, pending: [] });
  });

  it('keeps a request pending until it is answered, once', () => {
    const view = given([requested(ID(1), 'start-canary', { entry: '/srv/shop@2/server.js' }), requested(ID(1), 'start-canary', { entry: '/srv/shop@2/server.js' })]);
    expect(view.pending.map((p) => p.requestId)).toEqual([ID(1)]);
    const answered = evolveFleet(view, changed(ID(1), 'start-canary', 0));
    expect(answered.pending).toEqual([]);
    expect(answered.answered.has(ID(1))).toBe(true);
    expect(evolveFleet(answered, requested(ID(1), 'start-canary', { entry: '/srv/shop@2/server.js' })).pending).toEqual([]);
  });

  it('rebuilds a running canary at its stage with the latest counts of that canary', () => {
    const view = given([
      changed(ID(1), 'start-canary', 0),
      changed(ID(2), 'set-stage', 5, counts(3, 100)),
      { type: 'FleetCountsReported', data: { at: '2026-12-01T00:00:00.000Z', ...(changed(ID(2), 'set-stage', 5).data as EventData<'TrafficChanged'>), canaryRelease: 'shop@2', canaryEntry: '/srv/shop@2/server.js', counts: counts(9, 180) } as EventData<'FleetCountsReported'> },
    ]);
    expect(view.canary).toEqual({ release: 'shop@2', entry: '/srv/shop@2/server.js', percent: 5 });
    expect(view.counts).toEqual(counts(9, 180));
    expect(view.slowThresholdMs).toBe(120);
  });

  it('given a report read before an answer but recorded after it, then the counts stay the latest: they never go backwards', () => {
    const report = (c: ReturnType<typeof counts>) => ({ type: 'FleetCountsReported', data: { ...(changed(ID(2), 'set-stage', 5).data as object), at: '2026-12-01T00:00:00.000Z', counts: c } }) as FleetEvent;
    const view = given([changed(ID(1), 'start-canary', 0), changed(ID(2), 'set-stage', 5, counts(12, 240)), report(counts(10, 200))]);
    expect(view.counts).toEqual(counts(12, 240));
    expect(evolveFleet(view, report(counts(15, 300))).counts).toEqual(counts(15, 300));
  });

  it('ignores a late count report of another canary', () => {
    const view = given([changed(ID(1), 'start-canary', 0, counts(1, 1))]);
    const late = { type: 'FleetCountsReported', data: { ...(changed(ID(1), 'start-canary', 0).data as object), at: '2026-12-01T00:00:00.000Z', canaryRelease: 'shop@0', counts: counts(50, 50) } } as FleetEvent;
    expect(evolveFleet(view, late).counts).toEqual(counts(1, 1));
  });

  it('after a promotion serves the canary as stable, with no canary and no counts', () => {
    const view = given([changed(ID(1), 'start-canary', 0), changed(ID(2), 'set-stage', 100, counts(10, 10)), changed(ID(3), 'set-stage', null, counts(10, 10), 'shop@2')]);
    expect(view).toMatchObject({ stable: { release: 'shop@2', entry: '/srv/shop@2/server.js' }, canary: null, counts: ZERO_COUNTS, slowThresholdMs: null });
  });
});

describe('which requests the agent refuses', () => {
  const now = Date.parse('2026-12-01T12:00:00.000Z');
  const data = (e: FleetEvent) => e.data as EventData<'TrafficChangeRequested'>;

  it('a second canary while one runs, with the running one named', () => {
    const view = given([changed(ID(1), 'start-canary', 5)]);
    expect(refusal(view, { ...data(requested(ID(2), 'start-canary', { entry: 'x' })), release: 'shop@3' }, now)).toBe('a rollout of shop@2 is already running');
    expect(refusal(view, data(requested(ID(3), 'start-canary', { entry: 'x' })), now)).toBeUndefined(); // the same one again: a no-op
  });

  it('a stage of a canary that does not run', () => {
    expect(refusal(given([]), data(requested(ID(1), 'set-stage', { percent: 5 })), now)).toBe('no rollout of shop@2 is running');
  });

  it('an expired start or stage, but never a rollback', () => {
    const view = given([changed(ID(1), 'start-canary', 5)]);
    const expiresAt = '2026-12-01T11:59:00.000Z';
    expect(refusal(view, data(requested(ID(2), 'set-stage', { percent: 25, expiresAt })), now)).toMatch(/expired at 2026-12-01T11:59:00.000Z/);
    expect(refusal(view, data(requested(ID(3), 'rollback', { expiresAt })), now)).toBeUndefined();
    expect(refusal(given([]), data(requested(ID(4), 'rollback')), now)).toBeUndefined();
  });

  it('starting the release that is already stable', () => {
    expect(refusal(given([]), { ...data(requested(ID(1), 'start-canary', { entry: 'x' })), release: 'shop@1' }, now)).toBe('shop@1 is already the stable release');
  });
});

describe('counts across an agent restart', () => {
  it('add what was recorded before to what the proxy counted since', () => {
    expect(addCounts(counts(5, 10), counts(1, 2))).toEqual({ canary: { requests: 6, errors: 0, slow: 0 }, stable: { requests: 12, errors: 2, slow: 4 } });
  });
});
