import { foldEvents, isEvent, type IncidentId, type PatchId, type ServiceName } from '@antibody/contracts';
// What the deployer needs to know about a service under care, read from its `service-<name>` stream,
// and the deploy adapter its registration names.
import type { Producer } from '@antibody/bus';
import type { EventStore } from '@antibody/event-store';
import { incidentFold, serviceFold, type CountsSnapshot, type ServiceRegistration, type ServiceState } from '@antibody/domain';
import { DeployAdapterError, FleetAdapter, parseCounts, type DeployAdapter } from './deploy-adapter';
import { WebhookAdapter } from './webhook-adapter';

type Settings = ServiceRegistration['deploy']['settings'];

/** The `service-<name>` stream folded by the one service fold (whether it is under care, its registration, policy and keys). */
export async function readService(store: EventStore, service: string): Promise<ServiceState> {
  const { events } = await store.readStream(`service-${service}`);
  return foldEvents(serviceFold, events);
}

/** Who a rollout is for: the adapter messages name them. */
export interface RolloutSubject {
  readonly service: ServiceName;
  readonly incidentId: IncidentId;
  readonly patchId: PatchId;
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
    return new WebhookAdapter({
      url: String(s.url),
      secret: env[String(s.secretEnv ?? '')] ?? '',
      service: subject.service,
      incidentId: subject.incidentId,
      patchId: subject.patchId,
      release: subject.release,
      readCounts: typeof s.countsUrl === 'string' ? countsFromUrl(s.countsUrl, subject.release) : countsFromIngest(s, subject, context),
    });
  }
  throw new Error(`service ${subject.service} has no deploy adapter (adapter "none")`);
}

/** Counts from an endpoint of the user's that returns the counts document (`?release=<canary>` added). */
function countsFromUrl(countsUrl: string, release: string): () => Promise<CountsSnapshot> {
  return async () => {
    const url = new URL(countsUrl);
    url.searchParams.set('release', release);
    const response = await fetch(url, { signal: AbortSignal.timeout(15_000) });
    if (!response.ok) throw new Error(`counts source ${countsUrl} answered ${response.status}`);
    return parseCounts(await response.json());
  };
}

/**
 * Counts from ingest's per-release counts (`GET /v1/releases/counts`), the default of the webhook
 * adapter: canary = the rollout's release; stable = `settings.stableRelease`, else the release the
 * incident's errors came from; since = when the fix was committed (fixed for the whole rollout, so a
 * deployer resuming it reads the same cumulative counts). Authenticated with an ingest key of the
 * service, read from the environment variable `settings.ingestKeyEnv`; ingest's address is
 * `settings.ingestUrl` or `DEPLOYER_INGEST_URL`.
 */
function countsFromIngest(s: Settings, subject: RolloutSubject, context: AdapterContext): () => Promise<CountsSnapshot> {
  const ingestUrl = typeof s.ingestUrl === 'string' ? s.ingestUrl : context.env.DEPLOYER_INGEST_URL;
  const key = context.env[String(s.ingestKeyEnv ?? '')];
  let window: { stable: string; since: string } | undefined;
  return async () => {
    if (!ingestUrl) throw new DeployAdapterError('BAD_COUNTS', `no counts source for ${subject.service}: set deploy.settings.countsUrl, or ingest's address (DEPLOYER_INGEST_URL or deploy.settings.ingestUrl)`);
    if (!key) throw new DeployAdapterError('BAD_COUNTS', `no ingest key to read ${subject.service}'s counts: set deploy.settings.ingestKeyEnv to an environment variable holding one`);
    window ??= await rolloutWindow(context.store, subject, typeof s.stableRelease === 'string' ? s.stableRelease : undefined);
    const url = new URL('/v1/releases/counts', ingestUrl);
    url.search = new URLSearchParams({ service: subject.service, canary: subject.release, stable: window.stable, since: window.since, ...(typeof s.environment === 'string' ? { environment: s.environment } : {}) }).toString();
    let response: Response;
    try {
      response = await fetch(url, { headers: { 'x-antibody-key': key }, signal: AbortSignal.timeout(15_000) });
    } catch (error) {
      throw new DeployAdapterError('UNREACHABLE', `ingest at ${ingestUrl} is unreachable: ${(error as Error).message}`, { cause: error });
    }
    const body = (await response.json().catch(() => ({}))) as { detail?: string };
    if (!response.ok) throw new DeployAdapterError('BAD_COUNTS', `ingest answered ${response.status} to the counts of ${subject.release}: ${body.detail ?? 'no detail'}`);
    return parseCounts(body);
  };
}

async function rolloutWindow(store: EventStore, subject: RolloutSubject, stableRelease: string | undefined): Promise<{ stable: string; since: string }> {
  const { events } = await store.readStream(`incident-${subject.incidentId}`);
  const committed = events.filter(isEvent('FixCommitted')).find((e) => e.data.patchId === subject.patchId);
  if (!committed) throw new DeployAdapterError('BAD_COUNTS', `patch ${subject.patchId} has no FixCommitted: the counts window starts there`);
  const stable = stableRelease ?? foldEvents(incidentFold, events).release;
  if (!stable) throw new DeployAdapterError('BAD_COUNTS', `the incident's errors name no release: set deploy.settings.stableRelease for ${subject.service}`);
  return { stable, since: committed.recordedAt };
}
