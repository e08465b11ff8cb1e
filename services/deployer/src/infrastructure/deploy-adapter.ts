import type { CountsSnapshot } from '../domain/judge';

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
    readonly code: 'UNREACHABLE' | 'REFUSED' | 'BAD_COUNTS',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Drives a fleet agent through its loopback control API. */
export class FleetAdapter implements DeployAdapter {
  constructor(
    private readonly controlUrl: string,
    /** Maps a release name to the entry file the agent runs for it. */
    private readonly entryFor: (release: string) => string,
  ) {}

  private async call(method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> {
    let response: Response;
    try {
      response = await fetch(`${this.controlUrl}${path}`, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(60_000),
      });
    } catch (error) {
      throw new DeployAdapterError('UNREACHABLE', `fleet agent at ${this.controlUrl} is unreachable: ${(error as Error).message}`, { cause: error });
    }
    const data = (await response.json().catch(() => ({}))) as { error?: string };
    if (!response.ok) throw new DeployAdapterError('REFUSED', `fleet agent refused ${method} ${path} (${response.status}): ${data.error ?? 'no reason'}`);
    return data;
  }

  async startCanary(release: string): Promise<void> {
    await this.call('POST', '/rollout', { release, entry: this.entryFor(release) });
  }

  async setStage(percent: number): Promise<void> {
    await this.call('POST', '/stage', { percent });
  }

  async rollback(): Promise<void> {
    await this.call('POST', '/rollback');
  }

  async readCounts(): Promise<CountsSnapshot> {
    return parseCounts(await this.call('GET', '/counts'));
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
