// The fleet's less travelled paths, with a real agent process and real replicas: a replica above its
// memory limit is reported and recycled (gracefully, losing no request), and a canary that is
// slower than stable — but not failing — is rolled back by the judge's latency test.
// Runs the compiled agent (dist/): build first (`npm test` does).
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { waitFor } from '@antibody/testing';
import { DEFAULT_JUDGE_CONFIG, type JudgeEvent } from '../src/domain/judge';
import { FleetAdapter } from '../src/infrastructure/deploy-adapter';
import { runRollout } from '../src/infrastructure/rollout-runner';

const AGENT = join(__dirname, '..', 'dist', 'fleet', 'main.js');
const APP = join(__dirname, 'apps', 'shop', 'server.js');

interface Status {
  stableRelease: string;
  canaryRelease: string | null;
  stable: { id: string; pid?: number; state: string; restarts: number }[];
  reports: { kind: string; replica: string; detail: string }[];
}

async function startAgent(dir: string, config: object): Promise<{ agent: ChildProcess; proxyUrl: string; controlUrl: string }> {
  const file = join(dir, `fleet-${Date.now()}.json`);
  writeFileSync(file, JSON.stringify(config));
  const agent = spawn(process.execPath, [AGENT, file], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: agent.stdout! });
  const ready = await new Promise<{ port: number; controlPort: number }>((resolve, reject) => {
    lines.on('line', (line) => {
      const parsed = JSON.parse(line) as { ready?: boolean; port: number; controlPort: number };
      if (parsed.ready) resolve(parsed);
    });
    agent.once('exit', (code) => reject(new Error(`fleet agent exited with ${code}`)));
  });
  return { agent, proxyUrl: `http://127.0.0.1:${ready.port}`, controlUrl: `http://127.0.0.1:${ready.controlPort}` };
}

async function stopAgent(agent: ChildProcess): Promise<void> {
  if (agent.exitCode !== null) return;
  agent.kill('SIGTERM');
  await new Promise((resolve) => agent.once('exit', resolve));
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

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'antibody-fleet-limits-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reports a replica above its memory limit and recycles it, answering every request meanwhile', async () => {
    const entry = release('shop@1.0.0');
    const { agent, proxyUrl, controlUrl } = await startAgent(dir, { service: 'shop', replicas: 1, stable: { release: 'shop@1.0.0', entry }, supervisor: { memoryLimitMb: 120, backoffMinMs: 50 } });
    try {
      const status = async () => (await (await fetch(`${controlUrl}/status`)).json()) as Status;
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
        { timeoutMs: 20_000, description: 'the replica to be reported and recycled' },
      );
      const s = await status();
      const report = s.reports.find((x) => x.kind === 'resource-limit')!;
      expect(report.replica).toBe(before.id);
      expect(report.detail).toMatch(/above the limit 120 MB/);
      expect(s.reports.some((x) => x.kind === 'crashed' && x.replica === before.id)).toBe(false); // recycled, not crashed
      expect(answers.every((code) => code === 200)).toBe(true);
    } finally {
      await stopAgent(agent);
    }
  });

  it('rolls back a canary that answers correctly but slower than stable, on the latency test', async () => {
    const entry = release('shop@2.0.0');
    release('shop@2.1.0', { slowMs: 120 });
    const { agent, proxyUrl, controlUrl } = await startAgent(dir, { service: 'shop', replicas: 2, stable: { release: 'shop@2.0.0', entry }, slowFloorMs: 40 });
    let running = true;
    const load = Array.from({ length: 6 }, async () => {
      while (running) await fetch(`${proxyUrl}/cart?lines=2`).then((r) => r.arrayBuffer()).catch(() => undefined);
    });
    try {
      // Stable's p95 is measured from this traffic before the rollout starts.
      await waitFor(async () => ((await (await fetch(`${controlUrl}/counts`)).json()) as { stable: { requests: number } }).stable.requests > 300, { timeoutMs: 20_000, description: 'traffic on stable' });
      const events: JudgeEvent[] = [];
      const final = await runRollout({
        adapter: new FleetAdapter(controlUrl, (name) => join(dir, name, 'server.js')),
        judge: { ...DEFAULT_JUDGE_CONFIG, stages: [10, 50, 100], minDwellMs: 60_000, minCanaryRequests: 10, stageDeadlineMs: 120_000, alpha: 0.01 },
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
      const s = (await (await fetch(`${controlUrl}/status`)).json()) as Status;
      expect(s.stableRelease).toBe('shop@2.0.0');
      expect(s.canaryRelease).toBeNull();
    } finally {
      running = false;
      await Promise.all(load);
      await stopAgent(agent);
    }
  });
});
