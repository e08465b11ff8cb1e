// The fleet end to end: a real fleet agent process with 4 replicas per release of a real example
// service, driven by events (the production FleetAdapter appends requests to fleet-<service>; the
// agent consumes them over JetStream and answers in the stream), judged by the production rollout
// runner and judge, with a load generator counting every request. Runs the compiled agent (dist/):
// build first (`npm test` does).
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestStore, uniqueName, waitFor, type TestStore } from '@antibody/testing';
import { DEFAULT_JUDGE_CONFIG, type JudgeConfig, type JudgeEvent } from '@antibody/domain';
import { FleetAdapter } from '../src/infrastructure/deploy-adapter';
import { runRollout } from '../src/infrastructure/rollout-runner';
import { startAgent, startTestRelay, type RunningAgent } from './fleet-agent';

const APP = join(__dirname, 'apps', 'shop', 'server.js');

interface Status {
  stableRelease: string;
  canaryRelease: string | null;
  canaryPercent: number;
  counts: { canary: { requests: number }; stable: { requests: number } };
  stable: { id: string; pid?: number; state: string; restarts: number }[];
  canary: { id: string; state: string }[];
  reports: { kind: string; replica: string }[];
}

/** Sends requests with a few in flight until stopped; counts answers by status and dropped requests. */
function startLoad(url: string) {
  const stats = { sent: 0, byStatus: new Map<number, number>(), dropped: 0, releases: new Map<string, number>() };
  let running = true;
  let i = 0;
  const worker = async () => {
    while (running) {
      const lines = i++ % 10 === 3 ? 4 : 1 + (i % 3);
      stats.sent++;
      try {
        const response = await fetch(`${url}/cart?lines=${lines}`, { signal: AbortSignal.timeout(10_000) });
        const body = (await response.json()) as { release?: string };
        stats.byStatus.set(response.status, (stats.byStatus.get(response.status) ?? 0) + 1);
        if (body.release) stats.releases.set(body.release, (stats.releases.get(body.release) ?? 0) + 1);
      } catch {
        stats.dropped++;
      }
    }
  };
  const workers = Array.from({ length: 6 }, worker);
  return {
    stats,
    reset: () => {
      stats.sent = 0;
      stats.dropped = 0;
      stats.byStatus.clear();
      stats.releases.clear();
    },
    stop: async () => {
      running = false;
      await Promise.all(workers);
    },
  };
}

describe('fleet agent driven by events, end to end (4 replicas, real processes)', () => {
  let dir: string;
  let t: TestStore;
  let relay: Awaited<ReturnType<typeof startTestRelay>>;
  let agent: RunningAgent;
  let config: object;
  let load: ReturnType<typeof startLoad>;
  const service = uniqueName('shop').replace(/_/g, '-');
  const producer = { service: 'deployer', instance: 'fleet-spec' };

  const release = (name: string, pricingV2: boolean) => {
    const d = join(dir, name);
    mkdirSync(d, { recursive: true });
    copyFileSync(APP, join(d, 'server.js'));
    writeFileSync(join(d, 'release.json'), JSON.stringify({ version: name, pricingV2 }));
    return join(d, 'server.js');
  };
  const status = () => agent.status<Status>();
  // A stage advances only once the canary is shown within the margins: 8 points (the bad release fails
  // 1 request in 10) takes about 80 canary requests, some 10 s at the 1 % stage of this load.
  const judge: JudgeConfig = { ...DEFAULT_JUDGE_CONFIG, minDwellMs: 1500, minCanaryRequests: 10, stageDeadlineMs: 45_000, alpha: 0.001, errorRateMargin: 0.08, slowShareMargin: 0.08 };
  const fleetEvents = async () => (await t.store.readStream(`fleet-${service}`)).events;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'antibody-fleet-'));
    t = await createTestStore('fleet');
    relay = await startTestRelay(t);
    for (const [name, bad] of [['shop@1.0.0', false], ['shop@1.1.0', false], ['shop@1.2.0', true], ['shop@1.3.0', false]] as const) release(name, bad);
    config = { service, replicas: 4, stable: { release: 'shop@1.0.0', entry: join(dir, 'shop@1.0.0', 'server.js') }, keepCanaryMs: 1000, slowFloorMs: 500, reportEveryMs: 200, supervisor: { backoffMinMs: 100 } };
    agent = await startAgent(t, dir, config, relay ? 'jetstream' : 'store-log');
    load = startLoad(agent.proxyUrl);
    await waitFor(() => load.stats.sent > 50, { timeoutMs: 10_000, description: 'the load generator to get going' });
  });

  afterAll(async () => {
    await load?.stop();
    await agent?.stop();
    await relay?.relay.stop();
    await relay?.nc.close();
    await t?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  const adapter = (name: string) => new FleetAdapter({ store: t.store, producer, service, release: name, entry: join(dir, name, 'server.js'), answerTimeoutMs: 30_000 });

  it('promotes a good release through every stage without dropping a request; every request is answered once in the stream', async () => {
    expect(agent.transport).toBe(relay ? 'jetstream' : 'store-log');
    load.reset();
    const events: JudgeEvent[] = [];
    const final = await runRollout({ adapter: adapter('shop@1.1.0'), judge, release: 'shop@1.1.0', observeEveryMs: 250, onEvent: (e) => void events.push(e) });
    expect(final.status).toBe('completed');
    expect(events.filter((e) => e.type === 'StageAdvanced').map((e) => (e.type === 'StageAdvanced' ? e.to : 0))).toEqual([5, 25, 50, 100]);
    const s = await status();
    expect(s.stableRelease).toBe('shop@1.1.0');
    expect(s.stable.filter((r) => r.state === 'ready')).toHaveLength(4);
    expect(load.stats.dropped).toBe(0);
    expect(load.stats.byStatus.get(502) ?? 0).toBe(0);
    expect(load.stats.byStatus.get(500) ?? 0).toBe(0);
    expect(load.stats.releases.get('shop@1.1.0')).toBeGreaterThan(0);
    await waitFor(async () => (await fetch(`${agent.proxyUrl}/health`).then((r) => r.json() as Promise<{ release: string }>)).release === 'shop@1.1.0', { timeoutMs: 5000, description: 'traffic on the new stable' });

    const recorded = await fleetEvents();
    const requests = recorded.filter((e) => e.type === 'TrafficChangeRequested').map((e) => e.data as { requestId: string; action: string; percent?: number });
    const answers = recorded.filter((e) => e.type === 'TrafficChanged' || e.type === 'TrafficChangeRefused').map((e) => [e.type, (e.data as { requestId: string }).requestId]);
    expect(requests.map((r) => (r.action === 'set-stage' ? r.percent : r.action))).toEqual(['start-canary', 1, 5, 25, 50, 100]);
    expect(answers).toEqual(requests.map((r) => ['TrafficChanged', r.requestId]));
    // The judge's inputs are on record: the counts the agent reported grew and never went backwards.
    const reported = recorded.filter((e) => e.type === 'FleetCountsReported').map((e) => (e.data as Status).counts.canary.requests);
    expect(reported.length).toBeGreaterThan(3);
    expect([...reported].sort((a, b) => a - b)).toEqual(reported);
  });

  it('rolls a bad release back automatically, with the judge evidence', async () => {
    const events: JudgeEvent[] = [];
    const final = await runRollout({ adapter: adapter('shop@1.2.0'), judge, release: 'shop@1.2.0', observeEveryMs: 250, onEvent: (e) => void events.push(e) });
    expect(final.status).toBe('rolled-back');
    const rolledBack = events.find((e) => e.type === 'RolledBack');
    if (rolledBack?.type !== 'RolledBack') throw new Error('expected RolledBack');
    expect(['error-regression', 'error-ceiling']).toContain(rolledBack.cause);
    expect(rolledBack.evidence.canary.errors).toBeGreaterThan(0);
    expect(rolledBack.evidence.errorRate.canary).toBeGreaterThan(rolledBack.evidence.errorRate.baseline);
    const s = await status();
    expect(s.stableRelease).toBe('shop@1.1.0');
    expect(s.canaryRelease).toBeNull();
    // All traffic is back on stable: a burst of requests all succeed on the old release.
    for (let i = 0; i < 40; i++) {
      const body = (await (await fetch(`${agent.proxyUrl}/cart?lines=4`)).json()) as { release: string };
      expect(body.release).toBe('shop@1.1.0');
    }
  });

  it('refuses a second rollout while one runs, in the stream, and the deployer sees the reason', async () => {
    const first = adapter('shop@1.3.0');
    await first.startCanary('shop@1.3.0');
    await expect(adapter('shop@1.2.0').startCanary('shop@1.2.0')).rejects.toThrow(/refused start-canary of shop@1\.2\.0: a rollout of shop@1\.3\.0 is already running/);
    await first.setStage(25);
    expect((await status()).canaryPercent).toBe(25);
  });

  it('restarted mid-rollout, the agent serves the same canary at its stage from the stream, and its counts never go backwards', async () => {
    const running = adapter('shop@1.3.0');
    await waitFor(async () => (await running.readCounts()).canary.requests > 20, { timeoutMs: 20_000, description: 'canary traffic at 25%' });
    const before = await running.readCounts();
    await load.stop();
    expect(await agent.stop('SIGTERM')).toBe(0);
    agent = await startAgent(t, dir, config, relay ? 'jetstream' : 'store-log');
    load = startLoad(agent.proxyUrl);
    const s = await status();
    expect(s).toMatchObject({ stableRelease: 'shop@1.1.0', canaryRelease: 'shop@1.3.0', canaryPercent: 25 });
    expect(s.canary.filter((r) => r.state === 'ready')).toHaveLength(4);
    await waitFor(async () => (await running.readCounts()).canary.requests > before.canary.requests + 5, { timeoutMs: 20_000, description: 'counts to grow after the restart' });
    const after = await running.readCounts();
    expect(after.stable.requests).toBeGreaterThanOrEqual(before.stable.requests);
    await running.setStage(100);
    expect((await status()).stableRelease).toBe('shop@1.3.0');
  });

  it('restarts a replica killed with SIGKILL, losing no request, and records the crash', async () => {
    load.reset();
    const before = await status();
    const victim = before.stable[0];
    if (!victim?.pid) throw new Error('no stable replica');
    process.kill(victim.pid, 'SIGKILL');
    await waitFor(
      async () => {
        const s = await status();
        const r = s.stable.find((x) => x.id === victim.id);
        return r !== undefined && r.state === 'ready' && r.pid !== victim.pid && r.restarts >= 1;
      },
      { timeoutMs: 15_000, description: 'the killed replica to be restarted' },
    );
    const s = await status();
    expect(s.reports.some((r) => r.kind === 'crashed' && r.replica === victim.id)).toBe(true);
    expect(load.stats.dropped).toBe(0);
    expect(load.stats.byStatus.get(502) ?? 0).toBe(0);
    await waitFor(async () => (await fleetEvents()).some((e) => e.type === 'ReplicaFailed' && (e.data as { replica: string; kind: string }).replica === victim.id), {
      timeoutMs: 5000,
      description: 'ReplicaFailed recorded',
    });
  });

  it('drains on SIGTERM: in-flight requests finish, then the agent exits 0', async () => {
    await load.stop();
    const slow = fetch(`${agent.proxyUrl}/cart?lines=1&delayMs=700`).then((r) => r.status);
    await waitFor(async () => (await agent.status<{ stable: { inflight: number }[] }>()).stable.some((r) => r.inflight > 0), { timeoutMs: 5000, description: 'the slow request in flight' });
    const code = await agent.stop('SIGTERM');
    expect(await slow).toBe(200);
    expect(code).toBe(0);
  });
});
