import { foldEvents, type EventData, type IngestKeyId, type RecordedEvent, type ServiceName } from '@antibody/contracts';
import { deciderSpec, testStream } from '@antibody/testing';
import { changedPaths, decideService, notUnderCare, serviceFold, underCare } from './service';

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

describe('service registration as code (decideService)', () => {
  const spec = deciderSpec({ fold: serviceFold, decide: decideService });
  const apply = (changes: Partial<EventData<'ServiceRegistered'>> = {}, reason?: string) => ({ type: 'ApplyRegistration' as const, registration: { ...registration, ...changes }, ...(reason ? { reason } : {}) });

  it('given no registration, when a registration is applied, then the service is registered', () => {
    spec.given([]).when(apply()).then({ kind: 'append', events: [{ type: 'ServiceRegistered', data: registration }] });
  });

  it('given the same registration, when it is applied again, then nothing is appended, and it says so', () => {
    const s = testStream('service-shop');
    spec.given([s.event('ServiceRegistered', registration)]).when(apply()).then({ kind: 'ignore', because: 'service shop is unchanged' });
  });

  it('given a registration, when one with another test command and source maps is applied, then the whole registration is updated, naming what changed', () => {
    const s = testStream('service-shop');
    const next = { commands: { install: 'npm ci', test: 'npm run test:ci' }, sourceMaps: 'dist/**/*.map' };
    spec
      .given([s.event('ServiceRegistered', registration)])
      .when(apply(next, 'applied antibody.yaml'))
      .then({ kind: 'append', events: [{ type: 'ServiceUpdated', data: { registration: { ...registration, ...next }, changed: ['commands.install', 'commands.test', 'sourceMaps'], reason: 'applied antibody.yaml' } }] });
  });

  it('given a registration, when only its policy differs, then the policy is changed', () => {
    const s = testStream('service-shop');
    const policy = { ...registration.policy, autoDeploy: true };
    spec.given([s.event('ServiceRegistered', registration)]).when(apply({ policy })).then({ kind: 'append', events: [{ type: 'ServicePolicyChanged', data: { policy } }] });
  });

  it('given a policy change, when the registration it produced is applied, then nothing is appended', () => {
    const s = testStream('service-shop');
    const policy = { ...registration.policy, forbiddenPaths: ['src/secrets/**'] };
    spec.given([s.event('ServiceRegistered', registration), s.event('ServicePolicyChanged', { policy })]).when(apply({ policy })).thenMatches({ kind: 'ignore' });
  });

  it('given an update, then the fold holds the new registration and the service stays under care', () => {
    const s = testStream('service-shop');
    const updated = { ...registration, language: 'javascript' };
    const state = fold([s.event('ServiceRegistered', registration), s.event('ServiceUpdated', { registration: updated, changed: ['language'] })]);
    expect(underCare(state)).toEqual(updated);
  });

  it('given a deregistered service, when its registration is applied, then it is registered again', () => {
    const s = testStream('service-shop');
    spec
      .given([s.event('ServiceRegistered', registration), s.event('ServiceDeregistered', { name: NAME })])
      .when(apply())
      .then({ kind: 'append', events: [{ type: 'ServiceRegistered', data: registration }] });
  });

  it('given a registered service, when it is deregistered, then ServiceDeregistered with the reason', () => {
    const s = testStream('service-shop');
    spec
      .given([s.event('ServiceRegistered', registration)])
      .when({ type: 'DeregisterService', name: 'shop', reason: 'retired' })
      .then({ kind: 'append', events: [{ type: 'ServiceDeregistered', data: { name: NAME, reason: 'retired' } }] });
  });

  it('given no registration or a deregistration, when it is deregistered, then nothing is appended, saying why', () => {
    const s = testStream('service-shop');
    spec.given([]).when({ type: 'DeregisterService', name: 'shop' }).then({ kind: 'ignore', because: 'service shop is not registered (no ServiceRegistered event in service-shop)' });
    spec
      .given([s.event('ServiceRegistered', registration), s.event('ServiceDeregistered', { name: NAME, reason: 'retired' })])
      .when({ type: 'DeregisterService', name: 'shop' })
      .then({ kind: 'ignore', because: 'service shop was deregistered (retired): it is no longer under care' });
  });
});

describe('changedPaths', () => {
  it('names nested fields, whole arrays, and fields added or removed; key order does not matter', () => {
    expect(changedPaths({ a: { b: 1, c: [1, 2] }, d: 'x' }, { d: 'x', a: { c: [1, 3], b: 1 }, e: { f: true } })).toEqual(['a.c', 'e']);
    expect(changedPaths({ a: 1, b: undefined }, { a: 1 })).toEqual([]);
    expect(changedPaths({ s: { x: { y: 1 } } }, { s: { x: { y: 1 } } })).toEqual([]);
  });
});
