// The fleet end to end: a real fleet agent process with 4 replicas per release of a real example
// service, driven by the production rollout runner and judge, with a load generator counting every
// request. Runs the compiled agent (dist/): build first (`npm test` does).
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { waitFor } from '@antibody/testing';
import { DEFAULT_JUDGE_CONFIG, type JudgeConfig, type JudgeEvent } from '../src/domain/judge';
import { FleetAdapter } from '../src/infrastructure/deploy-adapter';
import { runRollout } from '../src/infrastructure/rollout-runner';

const AGENT = join(__dirname, '..', 'dist', 'fleet', 'main.js');
const APP = join(__dirname, 'apps', 'shop', 'server.js');

interface Status {
  stableRelease: string;
  canaryRelease: string | null;
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

describe('fleet adapter end to end (4 replicas, real processes)', () => {
  let dir: string;
  let agent: ChildProcess;
  let proxyUrl: string;
  let controlUrl: string;
  let load: ReturnType<typeof startLoad>;

  const release = (name: string, pricingV2: boolean) => {
    const d = join(dir, name);
    mkdirSync(d, { recursive: true });
    copyFileSync(APP, join(d, 'server.js'));
    writeFileSync(join(d, 'release.json'), JSON.stringify({ version: name, pricingV2 }));
    return join(d, 'server.js');
  };
  const status = async () => (await (await fetch(`${controlUrl}/status`)).json()) as Status;
  const judge: JudgeConfig = { ...DEFAULT_JUDGE_CONFIG, minDwellMs: 1500, minCanaryRequests: 10, stageDeadlineMs: 30_000, alpha: 0.001 };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'antibody-fleet-'));
    release('shop@1.0.0', false);
    release('shop@1.1.0', false);
    release('shop@1.2.0', true);
    const config = join(dir, 'fleet.json');
    writeFileSync(config, JSON.stringify({ service: 'shop', replicas: 4, stable: { release: 'shop@1.0.0', entry: join(dir, 'shop@1.0.0', 'server.js') }, keepCanaryMs: 1000, slowFloorMs: 500, supervisor: { backoffMinMs: 100 } }));
    agent = spawn(process.execPath, [AGENT, config], { stdio: ['ignore', 'pipe', 'inherit'] });
    const lines = createInterface({ input: agent.stdout! });
    const ready = await new Promise<{ port: number; controlPort: number }>((resolve, reject) => {
      lines.on('line', (line) => {
        const parsed = JSON.parse(line) as { ready?: boolean; port: number; controlPort: number };
        if (parsed.ready) resolve(parsed);
      });
      agent.once('exit', (code) => reject(new Error(`fleet agent exited with ${code}`)));
    });
    proxyUrl = `http://127.0.0.1:${ready.port}`;
    controlUrl = `http://127.0.0.1:${ready.controlPort}`;
    load = startLoad(proxyUrl);
    await waitFor(() => load.stats.sent > 50, { timeoutMs: 10_000, description: 'the load generator to get going' });
  });

  afterAll(async () => {
    await load?.stop();
    if (agent && agent.exitCode === null) {
      agent.kill('SIGTERM');
      await new Promise((resolve) => agent.once('exit', resolve));
    }
    rmSync(dir, { recursive: true, force: true });
  });

  const adapter = () => new FleetAdapter(controlUrl, (name) => join(dir, name, 'server.js'));

  it('promotes a good release through every stage without dropping a request', async () => {
    load.reset();
    const events: JudgeEvent[] = [];
    const final = await runRollout({ adapter: adapter(), judge, release: 'shop@1.1.0', observeEveryMs: 250, onEvent: (e) => void events.push(e) });
    expect(final.status).toBe('completed');
    expect(events.filter((e) => e.type === 'StageAdvanced').map((e) => (e.type === 'StageAdvanced' ? e.to : 0))).toEqual([5, 25, 50, 100]);
    const s = await status();
    expect(s.stableRelease).toBe('shop@1.1.0');
    expect(s.stable.filter((r) => r.state === 'ready')).toHaveLength(4);
    expect(load.stats.dropped).toBe(0);
    expect(load.stats.byStatus.get(502) ?? 0).toBe(0);
    expect(load.stats.byStatus.get(500) ?? 0).toBe(0);
    expect(load.stats.releases.get('shop@1.1.0')).toBeGreaterThan(0);
    await waitFor(async () => (await fetch(`${proxyUrl}/health`).then((r) => r.json() as Promise<{ release: string }>)).release === 'shop@1.1.0', { timeoutMs: 5000, description: 'traffic on the new stable' });
  });

  it('rolls a bad release back automatically, with the judge evidence', async () => {
    const events: JudgeEvent[] = [];
    const final = await runRollout({ adapter: adapter(), judge, release: 'shop@1.2.0', observeEveryMs: 250, onEvent: (e) => void events.push(e) });
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
      const body = (await (await fetch(`${proxyUrl}/cart?lines=4`)).json()) as { release: string };
      expect(body.release).toBe('shop@1.1.0');
    }
  });

  it('restarts a replica killed with SIGKILL, losing no request', async () => {
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
  });

  it('drains on SIGTERM: in-flight requests finish, then the agent exits 0', async () => {
    await load.stop();
    const slow = fetch(`${proxyUrl}/cart?lines=1&delayMs=700`).then((r) => r.status);
    await new Promise((resolve) => setTimeout(resolve, 100));
    agent.kill('SIGTERM');
    const code = await new Promise((resolve) => agent.once('exit', resolve));
    expect(await slow).toBe(200);
    expect(code).toBe(0);
  });
});
