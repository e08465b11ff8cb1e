import type { IncidentId, PatchId, RecordedEvent, ServiceName } from '@antibody/contracts';
import { randomUUID } from 'node:crypto';
import { appendTraced, type Producer } from '@antibody/bus';
import type { EventStore } from '@antibody/event-store';
import type { CountsSnapshot } from '@antibody/domain';
import { latestCounts } from '../domain/fleet';

/**
 * What the deployer needs from wherever the application runs. Implementations: the fleet agent
 * (`FleetAdapter`) and the user's own delivery system (`WebhookAdapter`). Every method throws on
 * failure; the rollout runner then rolls back (and escalates if even that fails).
 */
export interface DeployAdapter {
  /** Starts the canary release at 0 % and resets the counts the judge reads. */
  startCanary(release: string): Promise<void>;
  /** Sends `percent` of the traffic to the canary; 100 promotes it (the old stable drains). */
  setStage(percent: number): Promise<void>;
  /** All traffic back to stable at once. */
  rollback(reason: string): Promise<void>;
  /** Cumulative counts per release since startCanary: what the judge reads (see docs/rollout.md). */
  readCounts(): Promise<CountsSnapshot>;
}

/** A typed failure of a deploy adapter. */
export class DeployAdapterError extends Error {
  override readonly name = 'DeployAdapterError';
  constructor(
    readonly code: 'UNREACHABLE' | 'REFUSED' | 'BAD_COUNTS' | 'STALE_COUNTS',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface FleetAdapterOptions {
  readonly store: EventStore;
  readonly producer: Producer;
  readonly service: ServiceName;
  /** The canary release this adapter rolls out. */
  readonly release: string;
  /** The file the agent runs for the release. */
  readonly entry: string;
  readonly incidentId?: IncidentId;
  readonly patchId?: PatchId;
  /** How long to wait for the agent to answer a request (default 60 s). */
  readonly answerTimeoutMs?: number;
  /** Counts with no new report for this long are refused as stale: the agent is gone (default 60 s). */
  readonly countsStaleMs?: number;
  /** How often the stream is looked at while waiting (default 100 ms). */
  readonly pollMs?: number;
  readonly now?: () => number;
}

/**
 * Drives the service's fleet host agent through events: each step appends a
 * `TrafficChangeRequested` to `fleet-<service>` and resolves once the agent answered it with
 * `TrafficChanged` (rejects on `TrafficChangeRefused` or no answer in time); counts are the
 * agent's latest `FleetCountsReported` (or `TrafficChanged`) of this canary. Holds no connection
 * of its own: any deployer instance can pick a rollout up from the stream.
 */
export class FleetAdapter implements DeployAdapter {
  private readonly streamId: string;
  private nextVersion = 0;
  private counts: CountsSnapshot | undefined;
  private countsSeenAt = 0;
  private readonly answers = new Map<string, RecordedEvent<'TrafficChanged' | 'TrafficChangeRefused'>>();
  private readonly now: () => number;

  constructor(private readonly options: FleetAdapterOptions) {
    this.streamId = `fleet-${options.service}`;
    this.now = options.now ?? Date.now;
  }

  /** Folds what the stream gained since the last look: answers by request id, the latest counts of this canary. */
  private async look(): Promise<void> {
    const { events } = await this.options.store.readStream(this.streamId, { fromVersion: this.nextVersion });
    for (const e of events) {
      this.nextVersion = e.streamVersion + 1;
      if (e.type === 'TrafficChanged' || e.type === 'TrafficChangeRefused') this.answers.set(e.data.requestId, e);
      if (e.type !== 'FleetCountsReported' && e.type !== 'TrafficChanged') continue;
      // A promotion's answer carries the canary's final counts, under its new name: stable.
      const promoted = e.type === 'TrafficChanged' && e.data.action === 'set-stage' && e.data.canaryRelease === null && e.data.stableRelease === this.options.release;
      // A report may land after an answer read later than it (see latestCounts).
      if (e.data.canaryRelease === this.options.release || promoted) {
        this.counts = this.counts ? latestCounts(this.counts, e.data.counts) : e.data.counts;
        this.countsSeenAt = this.now();
      }
    }
  }

  private async request(action: 'start-canary' | 'set-stage' | 'rollback', extra: { entry?: string; percent?: number; reason?: string }): Promise<void> {
    const { store, producer, service, release } = this.options;
    const timeoutMs = this.options.answerTimeoutMs ?? 60_000;
    const requestId = randomUUID();
    const data = {
      requestId,
      service,
      action,
      release,
      ...extra,
      expiresAt: new Date(this.now() + timeoutMs).toISOString(),
      ...(this.options.incidentId ? { incidentId: this.options.incidentId } : {}),
      ...(this.options.patchId ? { patchId: this.options.patchId } : {}),
    };
    try {
      await appendTraced(store, this.streamId, [{ type: 'TrafficChangeRequested', data }], { producer, correlationId: this.options.incidentId ?? this.streamId, causationId: null });
    } catch (error) {
      throw new DeployAdapterError('UNREACHABLE', `could not record the ${action} request for ${service}'s fleet agent: ${(error as Error).message}`, { cause: error });
    }
    const deadline = this.now() + timeoutMs;
    for (let wait = 10; ; wait = Math.min(this.options.pollMs ?? 100, wait * 2)) {
      await this.look();
      const answer = this.answers.get(requestId);
      if (answer?.type === 'TrafficChanged') return;
      if (answer) throw new DeployAdapterError('REFUSED', `the fleet agent of ${service} refused ${action} of ${release}: ${answer.data.reason}`);
      if (this.now() > deadline) throw new DeployAdapterError('UNREACHABLE', `the fleet agent of ${service} did not answer ${action} of ${release} within ${timeoutMs} ms (is it running, on the same event store?)`);
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }

  async startCanary(release: string): Promise<void> {
    if (release !== this.options.release) throw new DeployAdapterError('REFUSED', `this adapter rolls out ${this.options.release}, not ${release}`);
    await this.request('start-canary', { entry: this.options.entry });
  }

  async setStage(percent: number): Promise<void> {
    await this.request('set-stage', { percent });
  }

  async rollback(reason: string): Promise<void> {
    await this.request('rollback', { reason });
  }

  async readCounts(): Promise<CountsSnapshot> {
    await this.look();
    if (!this.counts) throw new DeployAdapterError('BAD_COUNTS', `no counts of ${this.options.release} recorded by the fleet agent of ${this.options.service} yet`);
    const staleMs = this.options.countsStaleMs ?? 60_000;
    if (this.now() - this.countsSeenAt > staleMs) {
      throw new DeployAdapterError('STALE_COUNTS', `the fleet agent of ${this.options.service} recorded no counts of ${this.options.release} for ${staleMs} ms: is it running?`);
    }
    return parseCounts(this.counts);
  }
}

/** Validates a counts document `{canary: {requests, errors, slow}, stable: {…}}`; throws BAD_COUNTS. */
export function parseCounts(value: unknown): CountsSnapshot {
  const arm = (v: unknown, name: string) => {
    const o = v as Record<string, unknown> | null;
    const n = (k: string) => {
      const x = o?.[k] ?? (k === 'slow' ? 0 : undefined);
      if (typeof x !== 'number' || !Number.isInteger(x) || x < 0) throw new DeployAdapterError('BAD_COUNTS', `${name}.${k} must be an integer >= 0`);
      return x;
    };
    return { requests: n('requests'), errors: n('errors'), slow: n('slow') };
  };
  const o = value as Record<string, unknown> | null;
  return { canary: arm(o?.canary, 'canary'), stable: arm(o?.stable, 'stable') };
}
