// What the deployer needs to know about a service under care, read from its `service-<name>` stream,
// and the deploy adapter its registration names.
import type { Producer } from '@antibody/bus';
import type { EventStore } from '@antibody/event-store';
import { FleetAdapter, parseCounts, type DeployAdapter } from './deploy-adapter';
import { WebhookAdapter } from './webhook-adapter';

type Json = Record<string, unknown>;

/** The registration as the deployer uses it (latest policy applied). */
export interface ServiceRegistration {
  readonly name: string;
  readonly repository: { readonly url: string; readonly defaultBranch: string };
  readonly deploy: { readonly adapter: 'fleet' | 'webhook' | 'none'; readonly settings: Json };
  readonly policy: { readonly autoDeploy: boolean } & Json;
}

/** The service's registration with its latest policy, or undefined when it is not (or no longer) registered. */
export async function readRegistration(store: EventStore, service: string): Promise<ServiceRegistration | undefined> {
  const { events } = await store.readStream(`service-${service}`);
  let registration: ServiceRegistration | undefined;
  for (const e of events) {
    const data = e.data as Json;
    if (e.type === 'ServiceRegistered') registration = data as unknown as ServiceRegistration;
    if (e.type === 'ServicePolicyChanged' && registration) registration = { ...registration, policy: data.policy as ServiceRegistration['policy'] };
    if (e.type === 'ServiceDeregistered') registration = undefined;
  }
  return registration;
}

/** Who a rollout is for: the adapter messages name them. */
export interface RolloutSubject {
  readonly service: string;
  readonly incidentId: string;
  readonly patchId: string;
  readonly release: string;
}

/** What an adapter may use: the event store (the fleet agent's orders are events), who appends, and the environment. */
export interface AdapterContext {
  readonly store: EventStore;
  readonly producer: Producer;
  /** Resolves secret references (`secretEnv`, `tokenEnv`). */
  readonly env: Readonly<Record<string, string | undefined>>;
}

/**
 * The deploy adapter a registration names. Throws Error for adapter `none` (nothing to roll out on).
 */
export function adapterFor(deploy: ServiceRegistration['deploy'], subject: RolloutSubject, context: AdapterContext): DeployAdapter {
  const s = deploy.settings;
  const env = context.env;
  if (deploy.adapter === 'fleet') {
    const releasesDir = String(s.releasesDir ?? '');
    return new FleetAdapter({
      store: context.store,
      producer: context.producer,
      service: subject.service,
      release: subject.release,
      entry: `${releasesDir}/${subject.release}/${String(s.entry ?? 'server.js')}`,
      incidentId: subject.incidentId,
      patchId: subject.patchId,
      ...(typeof s.answerTimeoutMs === 'number' ? { answerTimeoutMs: s.answerTimeoutMs } : {}),
      ...(typeof s.countsStaleMs === 'number' ? { countsStaleMs: s.countsStaleMs } : {}),
    });
  }
  if (deploy.adapter === 'webhook') {
    const countsUrl = String(s.countsUrl ?? '');
    return new WebhookAdapter({
      url: String(s.url),
      secret: env[String(s.secretEnv ?? '')] ?? '',
      service: subject.service,
      incidentId: subject.incidentId,
      patchId: subject.patchId,
      release: subject.release,
      readCounts: async () => {
        const url = new URL(countsUrl);
        url.searchParams.set('release', subject.release);
        const response = await fetch(url, { signal: AbortSignal.timeout(15_000) });
        if (!response.ok) throw new Error(`counts source ${countsUrl} answered ${response.status}`);
        return parseCounts(await response.json());
      },
    });
  }
  throw new Error(`service ${subject.service} has no deploy adapter (adapter "none")`);
}
