// The fleet's less travelled paths, with a real agent process and real replicas: a replica above its
// memory limit is reported and recycled (gracefully, losing no request), and a canary that is
// slower than stable — but not failing — is rolled back by the judge's latency test.
// Runs the compiled agent (dist/): build first (`npm test` does).
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestStore, uniqueName, waitFor, type TestStore } from '@antibody/testing';
import { DEFAULT_JUDGE_CONFIG, type JudgeEvent } from '@antibody/domain';
import { FleetAdapter } from '../src/infrastructure/deploy-adapter';
import { runRollout } from '../src/infrastructure/rollout-runner';
import { startAgent } from './fleet-agent';

const APP = join(__dirname, 'apps', 'shop', 'server.js');
// A loaded 2-core machine starts replicas slowly: waits are condition-based with deadlines that fit it.
jest.setTimeout(300_000);

interface Status {
  stableRelease: string;
  canaryRelease: string | null;
  stable: { id: string; pid?: number; state: string; restarts: number }[];
  reports: { kind: string; replica: string; detail: string }[];
}

describe('fleet limits and latency (real agent, real replicas)', () => {
  let dir: string;
  const release = (name: string, extra: object = {}) => {
    const d = join(dir, name);
    mkdirSync(d, { recursive: true });
    copyFileSync(APP, join(d, 'server.js'));
    writeFileSync(join(d, 'release.json'), JSON.stringify({ version: name, pricingV2: false, ...extra }));
    return join(d, 'server.js');
  };

  let t: TestStore;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'antibody-fleet-limits-'));
    // The store's own log delivers the agent's orders here (fleet.e2e.spec.ts runs it over JetStream).
    t = await createTestStore('fleetlim');
  });
  afterAll(async () => {
    await t?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reports a replica above its memory limit and recycles it, answering every request meanwhile', async () => {
    const entry = release('shop@1.0.0');
    const agent = await startAgent(t, dir, { service: uniqueName('shop').replace(/_/g, '-'), replicas: 1, stable: { release: 'shop@1.0.0', entry }, supervisor: { memoryLimitMb: 120, backoffMinMs: 50 } }, 'store-log');
    const proxyUrl = agent.proxyUrl;
    try {
      const status = () => agent.status<Status>();
      const before = (await status()).stable[0]!;
      expect((await fetch(`${proxyUrl}/hog?mb=200`)).status).toBe(200);
      // Requests keep being answered while the replica is recycled (the proxy waits for a ready one).
      const answers: number[] = [];
      await waitFor(
        async () => {
          answers.push((await fetch(`${proxyUrl}/cart?lines=2`)).status);
          const s = await status();
          const r = s.stable[0]!;
          return s.reports.some((x) => x.kind === 'resource-limit') && r.state === 'ready' && r.pid !== before.pid && r.restarts >= 1;
        },
        { timeoutMs: 60_000, description: 'the replica to be reported and recycled' },
      );
      const s = await status();
      const report = s.reports.find((x) => x.kind === 'resource-limit')!;
      expect(report.replica).toBe(before.id);
      expect(report.detail).toMatch(/above the limit 120 MB/);
      expect(s.reports.some((x) => x.kind === 'crashed' && x.replica === before.id)).toBe(false); // recycled, not crashed
      expect(answers.every((code) => code === 200)).toBe(true);
    } finally {
      await agent.stop();
    }
  });

  it('rolls back a canary that answers correctly but slower than stable, on the latency test', async () => {
    const entry = release('shop@2.0.0');
    // Slower by far more than a loaded machine's own jitter: under load, stable's p95 alone can pass 200 ms.
    release('shop@2.1.0', { slowMs: 400 });
    const service = uniqueName('shop').replace(/_/g, '-');
    const agent = await startAgent(t, dir, { service, replicas: 2, stable: { release: 'shop@2.0.0', entry }, slowFloorMs: 40, reportEveryMs: 200 }, 'store-log');
    let running = true;
    let answered = 0;
    const load = Array.from({ length: 6 }, async () => {
      while (running) await fetch(`${agent.proxyUrl}/cart?lines=2`).then((r) => r.arrayBuffer().then(() => answered++)).catch(() => undefined);
    });
    try {
      // Stable's p95 is measured from this traffic before the rollout starts.
      await waitFor(() => answered > 300, { timeoutMs: 60_000, description: 'traffic on stable' });
      const events: JudgeEvent[] = [];
      const final = await runRollout({
        adapter: new FleetAdapter({ store: t.store, producer: { service: 'deployer', instance: 'limits-spec' }, service, release: 'shop@2.1.0', entry: join(dir, 'shop@2.1.0', 'server.js') }),
        judge: { ...DEFAULT_JUDGE_CONFIG, stages: [10, 50, 100], minDwellMs: 60_000, minCanaryRequests: 10, stageDeadlineMs: 240_000, alpha: 0.01 },
        release: 'shop@2.1.0',
        observeEveryMs: 250,
        onEvent: (e) => void events.push(e),
      });
      expect(final.status).toBe('rolled-back');
      const rolledBack = events.find((e) => e.type === 'RolledBack');
      if (rolledBack?.type !== 'RolledBack') throw new Error('expected RolledBack');
      expect(rolledBack.cause).toBe('latency-regression');
      expect(rolledBack.evidence.canary.errors).toBe(0);
      expect(rolledBack.evidence.canary.slow / rolledBack.evidence.canary.requests).toBeGreaterThan(rolledBack.evidence.stable.slow / Math.max(1, rolledBack.evidence.stable.requests));
      expect(rolledBack.evidence.logEValue.latency).toBeGreaterThan(rolledBack.evidence.logEValue.errors);
      const s = await agent.status<Status>();
      expect(s.stableRelease).toBe('shop@2.0.0');
      expect(s.canaryRelease).toBeNull();
    } finally {
      running = false;
      await Promise.all(load);
      await agent.stop();
    }
  });
});
