// The fleet host agent's replicas and proxy for one service on this host: the traffic changes it
// is asked for (through events, see driver.ts) act here. It runs as its own process so that
// deployer instances can restart or scale without taking the application down.
import { createServer, type Server } from 'node:http';
import { addCounts, ZERO_COUNTS, type FleetCounts, type FleetView } from '../domain/fleet';
import { WeightedProxy } from './proxy';
import { Replica, type SupervisorOptions, type SupervisorReport } from './supervisor';

export interface FleetAgentConfig {
  readonly service: string;
  /** Port of the application's traffic (the proxy); 0 picks one. */
  readonly port: number;
  /** Loopback port of the read-only status page (`GET /status`); 0 picks one. */
  readonly statusPort: number;
  readonly replicas: number;
  /** The stable release when the service's fleet stream records none yet (a first start). */
  readonly stable: { readonly release: string; readonly entry: string };
  /** Canary replicas are kept this long after a rollback, for debugging, then drained. */
  readonly keepCanaryMs: number;
  /** A request is never "slow" below this, whatever stable's p95 was. */
  readonly slowFloorMs: number;
  /** How often the proxy's counts are recorded while a canary runs (what the judge reads). */
  readonly reportEveryMs: number;
  readonly supervisor: Omit<SupervisorOptions, 'onReport'>;
}

/** What the agent serves now: the `TrafficChanged` / `FleetCountsReported` facts. */
export interface ServedState {
  readonly stableRelease: string;
  readonly stableEntry: string;
  readonly canaryRelease: string | null;
  readonly canaryEntry: string | null;
  readonly canaryPercent: number;
  readonly counts: FleetCounts;
  readonly slowThresholdMs: number | null;
}

export class FleetAgent {
  readonly stable: Replica[] = [];
  readonly canary: Replica[] = [];
  /** Rolled-back canary replicas kept alive for debugging until their time is up (or the agent stops). */
  private readonly retiring = new Set<Replica>();
  readonly reports: SupervisorReport[] = [];
  readonly proxy: WeightedProxy;
  private statusServer: Server | undefined;
  private stableRelease: { release: string; entry: string };
  private canaryRelease: { release: string; entry: string } | undefined;
  /** Counts recorded for the running canary before this process started counting (a restart). */
  private countsBase: FleetCounts = ZERO_COUNTS;
  private seq = 0;
  private readonly supervisor: SupervisorOptions;

  constructor(
    private readonly config: FleetAgentConfig,
    onReport: (report: SupervisorReport) => void = () => undefined,
  ) {
    this.proxy = new WeightedProxy({ stable: this.stable, canary: this.canary });
    this.stableRelease = config.stable;
    this.supervisor = {
      ...config.supervisor,
      onReport: (report) => {
        this.reports.push(report);
        if (this.reports.length > 1000) this.reports.shift();
        onReport(report);
      },
    };
  }

  private async startReplicas(release: string, entry: string, into: Replica[]): Promise<void> {
    const replicas = Array.from({ length: this.config.replicas }, () => new Replica(`${release}#${++this.seq}`, release, entry, this.supervisor));
    into.push(...replicas);
    await Promise.all(replicas.map((r) => r.start()));
  }

  /**
   * Serves what `view` (folded from the fleet stream) says: its stable release, and its canary at
   * its share with the counts recorded so far. Then the proxy and the status page; returns their ports.
   */
  async start(view: FleetView): Promise<{ port: number; statusPort: number }> {
    this.stableRelease = view.stable;
    await this.startReplicas(view.stable.release, view.stable.entry, this.stable);
    if (view.canary) {
      this.canaryRelease = { release: view.canary.release, entry: view.canary.entry };
      await this.startReplicas(view.canary.release, view.canary.entry, this.canary);
      if (view.slowThresholdMs === null) this.proxy.freezeSlowThreshold(this.config.slowFloorMs);
      else this.proxy.slowThresholdMs = view.slowThresholdMs;
      this.countsBase = view.counts;
      this.proxy.resetCounts();
      this.proxy.canaryShare = view.canary.percent / 100;
    }
    const port = await this.proxy.listen(this.config.port);
    this.statusServer = createServer((req, res) => {
      const ok = req.method === 'GET' && (req.url ?? '').split('?')[0] === '/status';
      res.writeHead(ok ? 200 : 404, { 'content-type': 'application/json' });
      res.end(JSON.stringify(ok ? this.status() : { error: `no route ${req.method} ${req.url}: the status page serves GET /status only; traffic changes are events (docs/rollout.md)` }));
    });
    await new Promise<void>((resolve) => this.statusServer?.listen(this.config.statusPort, '127.0.0.1', resolve));
    const address = this.statusServer.address();
    return { port, statusPort: typeof address === 'object' && address ? address.port : this.config.statusPort };
  }

  /** Graceful stop: every replica drained (in-flight requests finish), then the proxy closes. */
  async stop(): Promise<void> {
    this.statusServer?.close();
    // Kept rolled-back replicas too: an agent must never leave processes behind when it stops.
    await Promise.all([...this.stable, ...this.canary, ...this.retiring].map((r) => r.drain()));
    this.retiring.clear();
    await this.proxy.close();
  }

  served(): ServedState {
    const threshold = this.proxy.slowThresholdMs;
    return {
      stableRelease: this.stableRelease.release,
      stableEntry: this.stableRelease.entry,
      canaryRelease: this.canaryRelease?.release ?? null,
      canaryEntry: this.canaryRelease?.entry ?? null,
      canaryPercent: this.canaryRelease ? this.proxy.canaryShare * 100 : 0,
      counts: this.canaryRelease ? addCounts(this.countsBase, this.proxy.counts) : ZERO_COUNTS,
      slowThresholdMs: this.canaryRelease && Number.isFinite(threshold) ? threshold : null,
    };
  }

  status() {
    const view = (r: Replica) => ({ id: r.id, release: r.release, pid: r.pid, state: r.state, restarts: r.restarts, inflight: r.inflight });
    return { service: this.config.service, ...this.served(), stable: this.stable.map(view), canary: this.canary.map(view), reports: this.reports };
  }

  /** Starts the canary's replicas at 0 % and starts counting; the same release again is a no-op. */
  async startCanary(release: string, entry: string): Promise<void> {
    if (this.canaryRelease?.release === release) return;
    if (this.canaryRelease) throw new Error(`a rollout of ${this.canaryRelease.release} is already running`);
    this.canaryRelease = { release, entry };
    this.proxy.canaryShare = 0;
    // The new canary's counting starts now: a report made while its replicas start must not carry
    // the previous canary's counts under the new name (they would go backwards at the next one).
    // No request is slow until stable's p95 is frozen below.
    this.countsBase = ZERO_COUNTS;
    this.proxy.resetCounts();
    this.proxy.slowThresholdMs = Number.POSITIVE_INFINITY;
    try {
      await this.startReplicas(release, entry, this.canary);
    } catch (error) {
      this.rollback();
      throw error;
    }
    this.proxy.freezeSlowThreshold(this.config.slowFloorMs);
  }

  /** Sends `percent` of new requests to the canary; 100 promotes it and drains the old stable. */
  async setStage(percent: number): Promise<void> {
    if (!this.canaryRelease) throw new Error('no rollout is running');
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

  /** All traffic back to stable at once; nothing running is a no-op. */
  rollback(): void {
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
}
