// The fleet host agent: owns the replicas and the proxy of one service on this host, and takes stage
// changes from the deployer over a small loopback control API. It runs as its own process so that
// deployer instances can restart or scale without taking the application down.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { WeightedProxy } from './proxy';
import { Replica, type SupervisorOptions, type SupervisorReport } from './supervisor';

export interface FleetAgentConfig {
  readonly service: string;
  /** Port of the application's traffic (the proxy); 0 picks one. */
  readonly port: number;
  /** Loopback port of the control API; 0 picks one. */
  readonly controlPort: number;
  readonly replicas: number;
  readonly stable: { readonly release: string; readonly entry: string };
  /** Canary replicas are kept this long after a rollback, for debugging, then drained. */
  readonly keepCanaryMs: number;
  /** A request is never "slow" below this, whatever stable's p95 was. */
  readonly slowFloorMs: number;
  readonly supervisor: Omit<SupervisorOptions, 'onReport'>;
}

/** Control API (JSON, 127.0.0.1 only): see docs/rollout.md. */
export class FleetAgent {
  readonly stable: Replica[] = [];
  readonly canary: Replica[] = [];
  /** Rolled-back canary replicas kept alive for debugging until their time is up (or the agent stops). */
  private readonly retiring = new Set<Replica>();
  readonly reports: SupervisorReport[] = [];
  readonly proxy: WeightedProxy;
  private control: Server | undefined;
  private canaryRelease: string | undefined;
  private stableRelease: string;
  private seq = 0;
  private readonly supervisor: SupervisorOptions;

  constructor(private readonly config: FleetAgentConfig) {
    this.proxy = new WeightedProxy({ stable: this.stable, canary: this.canary });
    this.stableRelease = config.stable.release;
    this.supervisor = {
      ...config.supervisor,
      onReport: (report) => {
        this.reports.push(report);
        if (this.reports.length > 1000) this.reports.shift();
        process.stdout.write(`${JSON.stringify({ level: 'info', msg: 'fleet report', service: config.service, ...report })}\n`);
      },
    };
  }

  private async startReplicas(release: string, entry: string, into: Replica[]): Promise<void> {
    const replicas = Array.from({ length: this.config.replicas }, () => new Replica(`${release}#${++this.seq}`, release, entry, this.supervisor));
    into.push(...replicas);
    await Promise.all(replicas.map((r) => r.start()));
  }

  /** Starts the stable replicas, the proxy and the control API; returns their ports. */
  async start(): Promise<{ port: number; controlPort: number }> {
    await this.startReplicas(this.config.stable.release, this.config.stable.entry, this.stable);
    const port = await this.proxy.listen(this.config.port);
    this.control = createServer((req, res) => void this.route(req, res));
    await new Promise<void>((resolve) => this.control?.listen(this.config.controlPort, '127.0.0.1', resolve));
    const address = this.control.address();
    const controlPort = typeof address === 'object' && address ? address.port : this.config.controlPort;
    return { port, controlPort };
  }

  /** Graceful stop: every replica drained (in-flight requests finish), then the proxy closes. */
  async stop(): Promise<void> {
    this.control?.close();
    // Kept rolled-back replicas too: an agent must never leave processes behind when it stops.
    await Promise.all([...this.stable, ...this.canary, ...this.retiring].map((r) => r.drain()));
    this.retiring.clear();
    await this.proxy.close();
  }

  status() {
    const view = (r: Replica) => ({ id: r.id, release: r.release, pid: r.pid, state: r.state, restarts: r.restarts, inflight: r.inflight });
    return {
      service: this.config.service,
      stableRelease: this.stableRelease,
      canaryRelease: this.canaryRelease ?? null,
      canaryPercent: this.proxy.canaryShare * 100,
      slowThresholdMs: Number.isFinite(this.proxy.slowThresholdMs) ? this.proxy.slowThresholdMs : null,
      stable: this.stable.map(view),
      canary: this.canary.map(view),
      reports: this.reports,
    };
  }

  async startCanary(release: string, entry: string): Promise<void> {
    // The same release again (a deployer retrying its start) is a no-op; another one is a conflict.
    if (this.canaryRelease === release) return;
    if (this.canaryRelease !== undefined) throw new ControlError(409, `a rollout of ${this.canaryRelease} is already running`);
    this.canaryRelease = release;
    this.proxy.canaryShare = 0;
    await this.startReplicas(release, entry, this.canary);
    this.proxy.freezeSlowThreshold(this.config.slowFloorMs);
    this.proxy.resetCounts();
  }

  async setStage(percent: number): Promise<void> {
    if (this.canaryRelease === undefined) throw new ControlError(409, 'no rollout is running');
    if (percent < 100) {
      this.proxy.canaryShare = percent / 100;
      return;
    }
    // Promotion: every new request goes to the canary at once; the old stable replicas drain.
    this.proxy.canaryShare = 1;
    const old = this.stable.splice(0, this.stable.length, ...this.canary);
    this.canary.length = 0;
    this.proxy.canaryShare = 0;
    this.stableRelease = this.canaryRelease;
    this.canaryRelease = undefined;
    await Promise.all(old.map((r) => r.drain()));
  }

  rollback(): void {
    if (this.canaryRelease === undefined) throw new ControlError(409, 'no rollout is running');
    this.proxy.canaryShare = 0;
    const kept = this.canary.splice(0, this.canary.length);
    this.canaryRelease = undefined;
    // Kept out of the proxy's pools but alive for a while, so a person can inspect them.
    for (const r of kept) this.retiring.add(r);
    setTimeout(() => {
      for (const r of kept) {
        this.retiring.delete(r);
        void r.drain();
      }
    }, this.config.keepCanaryMs).unref();
    for (const r of kept) this.reports.push({ at: new Date().toISOString(), kind: 'drained', replica: r.id, release: r.release, detail: `rolled back; kept ${this.config.keepCanaryMs} ms on port ${r.port} for debugging` });
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    try {
      const path = (req.url ?? '').split('?')[0];
      if (req.method === 'GET' && path === '/status') return send(200, this.status());
      if (req.method === 'GET' && path === '/counts') return send(200, this.proxy.counts);
      const body = req.method === 'POST' ? await readJson(req) : {};
      if (req.method === 'POST' && path === '/rollout') {
        if (typeof body.release !== 'string' || typeof body.entry !== 'string') throw new ControlError(400, 'POST /rollout needs {"release": string, "entry": string}');
        await this.startCanary(body.release, body.entry);
        return send(200, this.status());
      }
      if (req.method === 'POST' && path === '/stage') {
        if (typeof body.percent !== 'number' || !(body.percent > 0 && body.percent <= 100)) throw new ControlError(400, 'POST /stage needs {"percent": number in (0, 100]}');
        await this.setStage(body.percent);
        return send(200, this.status());
      }
      if (req.method === 'POST' && path === '/rollback') {
        this.rollback();
        return send(200, this.status());
      }
      return send(404, { error: `no route ${req.method} ${path}` });
    } catch (error) {
      if (error instanceof ControlError) return send(error.status, { error: error.message });
      return send(500, { error: (error as Error).message });
    }
  }
}

class ControlError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text) return {};
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new ControlError(400, 'the body must be JSON');
  }
}
