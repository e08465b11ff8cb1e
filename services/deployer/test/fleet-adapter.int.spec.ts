import { randomUUID } from 'node:crypto';
import { serviceNameSchema, type EventData } from '@antibody/contracts';
import { createTestStore, testMetadata, type TestStore } from '@antibody/testing';
import { FleetAdapter } from '../src/infrastructure/deploy-adapter';

const counts = (canary: number, stable: number): EventData<'FleetCountsReported'>['counts'] => ({
  canary: { requests: canary, errors: 0, slow: 0 },
  stable: { requests: stable, errors: 0, slow: 0 },
});

describe('the fleet adapter reading counts (real Postgres)', () => {
  let t: TestStore;
  beforeAll(async () => {
    t = await createTestStore('fleetadapter');
  });
  afterAll(async () => {
    await t.cleanup();
  });

  it("given a report the agent computed before its answer but appended after it, then the answer's counts stand: counts never go backwards", async () => {
    const service = serviceNameSchema.parse(`shop-${randomUUID().slice(0, 8)}`);
    const state = { stableRelease: 'shop@1', stableEntry: 's.js', canaryRelease: 'shop@2', canaryEntry: 'c.js', canaryPercent: 5, slowThresholdMs: null };
    const adapter = new FleetAdapter({ store: t.store, producer: { service: 'test', instance: 't' }, service, release: 'shop@2', entry: 'c.js' });
    const append = (type: 'TrafficChanged' | 'FleetCountsReported', data: EventData<typeof type>) =>
      t.store.appendToStream(`fleet-${service}`, [{ type, data, metadata: testMetadata() }]);
    await append('TrafficChanged', { requestId: randomUUID(), action: 'set-stage', ...state, counts: counts(120, 2400) });
    await append('FleetCountsReported', { at: new Date().toISOString(), ...state, counts: counts(100, 2000) });
    expect(await adapter.readCounts()).toEqual(counts(120, 2400));
    await append('FleetCountsReported', { at: new Date().toISOString(), ...state, counts: counts(130, 2600) });
    expect(await adapter.readCounts()).toEqual(counts(130, 2600));
  });
});
