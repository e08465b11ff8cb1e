// The `service-<name>` stream folded once, for every service and the CLI: what is registered, with
// which policy, which ingest keys, and whether it was deregistered. A deregistered service is not
// under care anywhere: its reports are not diagnosed, patched, validated or rolled out.
import { appendEvents, ignore, type Decision, type EventData, type Fold, type IngestKeyId, type RecordedEvent, type ServiceEvent } from '@antibody/contracts';

/** A registration as it stands: the last ServiceRegistered or ServiceUpdated data, with any later policy change applied. */
export type ServiceRegistration = EventData<'ServiceRegistered'>;

/** One ingest key as the stream describes it (never the secret: its hash). */
export interface IngestKeyState {
  readonly keyId: IngestKeyId;
  readonly hash: string;
  readonly label?: string;
  readonly rateLimitPerMinute?: number;
  /** `occurredAt` of IngestKeyCreated. */
  readonly createdAt: string;
  /** `occurredAt` of IngestKeyRevoked, when revoked. */
  readonly revokedAt?: string;
}

/** What a `service-<name>` stream says. */
export interface ServiceState {
  /** `unknown`: never registered. `deregistered`: was registered, then taken out of care. */
  readonly status: 'unknown' | 'registered' | 'deregistered';
  /** The last registration with the latest policy; kept after deregistration, for the record. */
  readonly registration?: ServiceRegistration;
  readonly deregistration?: EventData<'ServiceDeregistered'>;
  /** Every key, oldest first. */
  readonly keys: readonly IngestKeyState[];
}

/** The fold of a service stream. Events of other streams are ignored. */
export const serviceFold: Fold<ServiceState, ServiceEvent | RecordedEvent> = {
  initialState: () => ({ status: 'unknown', keys: [] }),
  evolve: (state, event) => evolveService(state, event),
};

function evolveService(state: ServiceState, event: ServiceEvent | RecordedEvent): ServiceState {
  const occurredAt = 'metadata' in event ? event.metadata.occurredAt : '';
  switch (event.type) {
    case 'ServiceRegistered': {
      const { deregistration: _previous, ...rest } = state;
      return { ...rest, status: 'registered', registration: event.data };
    }
    case 'ServiceUpdated':
      return state.registration ? { ...state, registration: event.data.registration } : state;
    case 'ServicePolicyChanged':
      return state.registration ? { ...state, registration: { ...state.registration, policy: event.data.policy } } : state;
    case 'ServiceDeregistered':
      return state.status === 'registered' ? { ...state, status: 'deregistered', deregistration: event.data } : state;
    case 'IngestKeyCreated': {
      const { keyId, hash, label, rateLimitPerMinute } = event.data;
      if (state.keys.some((k) => k.keyId === keyId)) return state;
      const key: IngestKeyState = { keyId, hash, ...(label !== undefined ? { label } : {}), ...(rateLimitPerMinute !== undefined ? { rateLimitPerMinute } : {}), createdAt: occurredAt };
      return { ...state, keys: [...state.keys, key] };
    }
    case 'IngestKeyRevoked':
      return { ...state, keys: state.keys.map((k) => (k.keyId === event.data.keyId && k.revokedAt === undefined ? { ...k, revokedAt: occurredAt } : k)) };
    default:
      return state;
  }
}

/** Why a service is not under care, or undefined when it is (registered and not deregistered). */
export function notUnderCare(state: ServiceState, name: string): string | undefined {
  if (state.status === 'unknown') return `service ${name} is not registered (no ServiceRegistered event in service-${name})`;
  if (state.status === 'deregistered') {
    const reason = state.deregistration?.reason;
    return `service ${name} was deregistered${reason ? ` (${reason})` : ''}: it is no longer under care`;
  }
  return undefined;
}

/** The registration of a service under care, or undefined when it is not registered or was deregistered. */
export function underCare(state: ServiceState): ServiceRegistration | undefined {
  return state.status === 'registered' ? state.registration : undefined;
}

/** What an operator asks of a service's stream (`antibody services apply|deregister`). */
export type ServiceCommand =
  /** Make the stream say this registration: register, register again, or change what differs. */
  | { readonly type: 'ApplyRegistration'; readonly registration: ServiceRegistration; readonly reason?: string }
  /** Take the service out of care. */
  | { readonly type: 'DeregisterService'; readonly name: string; readonly reason?: string };

/**
 * Decides what a service command appends to `service-<name>`:
 * - apply to a stream that was never registered, or was deregistered: `ServiceRegistered`;
 * - apply an identical registration: nothing ("unchanged");
 * - apply a registration whose only difference is its policy: `ServicePolicyChanged`;
 * - apply any other difference: `ServiceUpdated` with the whole registration and the changed paths;
 * - deregister a registered service: `ServiceDeregistered`; any other: nothing, saying why.
 */
export function decideService(command: ServiceCommand, state: ServiceState): Decision<ServiceEvent> {
  switch (command.type) {
    case 'ApplyRegistration': {
      const { registration, reason } = command;
      const current = underCare(state);
      if (!current) return appendEvents({ type: 'ServiceRegistered', data: registration });
      const changed = changedPaths(current, registration);
      if (changed.length === 0) return ignore(`service ${registration.name} is unchanged`);
      if (changed.every((path) => path === 'policy' || path.startsWith('policy.'))) {
        return appendEvents({ type: 'ServicePolicyChanged', data: { policy: registration.policy, ...(reason !== undefined ? { reason } : {}) } });
      }
      return appendEvents({ type: 'ServiceUpdated', data: { registration, changed, ...(reason !== undefined ? { reason } : {}) } });
    }
    case 'DeregisterService': {
      const why = notUnderCare(state, command.name);
      if (why) return ignore(why);
      return appendEvents({ type: 'ServiceDeregistered', data: { name: state.registration!.name, ...(command.reason !== undefined ? { reason: command.reason } : {}) } });
    }
    default: {
      const unknown: never = command;
      throw new Error(`unknown service command ${JSON.stringify(unknown)}`);
    }
  }
}

/**
 * Dotted paths where two JSON values differ, descending into objects (absent and `undefined` are
 * the same); an array or a scalar that differs is named whole (`policy.allowedPaths`).
 */
export function changedPaths(before: unknown, after: unknown, at = ''): string[] {
  if (isPlainObject(before) && isPlainObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    return keys.flatMap((key) => changedPaths(before[key], after[key], at ? `${at}.${key}` : key));
  }
  return sameJson(before, after) ? [] : [at];
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function sameJson(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((item, i) => sameJson(item, b[i]));
  if (isPlainObject(a) && isPlainObject(b)) return changedPaths(a, b).length === 0;
  return a === b;
}
