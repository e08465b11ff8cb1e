// The `service-<name>` stream folded once, for every service and the CLI: what is registered, with
// which policy, which ingest keys, and whether it was deregistered. A deregistered service is not
// under care anywhere: its reports are not diagnosed, patched, validated or rolled out.
import type { EventData, Fold, IngestKeyId, RecordedEvent, ServiceEvent } from '@antibody/contracts';

/** A registration as it stands: the ServiceRegistered data with the latest policy applied. */
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
