import { foldEvents, type EventData, type IngestKeyId, type RecordedEvent, type ServiceName } from '@antibody/contracts';
import { testStream } from '@antibody/testing';
import { notUnderCare, serviceFold, underCare } from './service';

const NAME = 'shop' as ServiceName;
const registration: EventData<'ServiceRegistered'> = {
  name: NAME,
  repository: { url: '/srv/shop', defaultBranch: 'main' },
  commands: { test: 'npm test' },
  language: 'typescript',
  deploy: { adapter: 'none', settings: {} },
  policy: { autoDeploy: false, allowedPaths: ['src/**'], forbiddenPaths: [], budgets: { perIncidentUsd: 1, dailyUsd: 5, monthlyUsd: 50 } },
};
const KEY = '44444444-4444-4444-8444-444444444444' as IngestKeyId;
const fold = (events: readonly RecordedEvent[]) => foldEvents(serviceFold, events);

describe('the service fold', () => {
  it('given no registration, then the service is not under care and says why', () => {
    const state = fold([]);
    expect(underCare(state)).toBeUndefined();
    expect(notUnderCare(state, 'shop')).toBe('service shop is not registered (no ServiceRegistered event in service-shop)');
  });

  it('given a registration and a policy change, then the registration carries the latest policy', () => {
    const s = testStream('service-shop');
    const policy = { ...registration.policy, autoDeploy: true };
    const state = fold([s.event('ServiceRegistered', registration), s.event('ServicePolicyChanged', { policy })]);
    expect(underCare(state)).toEqual({ ...registration, policy });
    expect(notUnderCare(state, 'shop')).toBeUndefined();
  });

  it('given a deregistration, then the service is not under care, whatever comes after but a new registration', () => {
    const s = testStream('service-shop');
    const events = [s.event('ServiceRegistered', registration), s.event('ServiceDeregistered', { name: NAME, reason: 'moved to another team' })];
    const deregistered = fold([...events, s.event('ServicePolicyChanged', { policy: registration.policy })]);
    expect(underCare(deregistered)).toBeUndefined();
    expect(notUnderCare(deregistered, 'shop')).toBe('service shop was deregistered (moved to another team): it is no longer under care');
    expect(underCare(fold([...events, s.event('ServiceRegistered', registration)]))).toEqual(registration);
  });

  it('folds ingest keys with their creation and revocation times', () => {
    const s = testStream('service-shop');
    const created = s.event('IngestKeyCreated', { keyId: KEY, project: NAME, hash: 'a'.repeat(64), label: 'ci' });
    const revoked = s.event('IngestKeyRevoked', { keyId: KEY, project: NAME });
    const state = fold([s.event('ServiceRegistered', registration), created, revoked]);
    expect(state.keys).toEqual([{ keyId: KEY, hash: 'a'.repeat(64), label: 'ci', createdAt: created.metadata.occurredAt, revokedAt: revoked.metadata.occurredAt }]);
  });
});
