import { randomUUID } from 'node:crypto';
import { appendEvents, ignore, type AntibodyEvent, type Fold, type RecordedEvent } from '@antibody/contracts';
import { appendTraced, handleCommand } from '@antibody/bus';
import { WrongExpectedVersionError, type ExpectedVersion } from '@antibody/event-store';
import { createTestStore, type TestStore } from '@antibody/testing';

/** A fold that counts escalations: the decision escalates at most once. */
const escalations: Fold<number> = {
  initialState: () => 0,
  evolve: (count, event: RecordedEvent) => (event.type === 'IncidentEscalated' ? count + 1 : count),
};

const producer = { service: 'test', instance: 'test-1' };
const escalate = (reason: string) => appendEvents({ type: 'IncidentEscalated', data: { reason, step: 'diagnosis' } });

describe('handleCommand (Postgres)', () => {
  let t: TestStore;
  beforeAll(async () => {
    t = await createTestStore('cmd');
  });
  afterAll(async () => {
    await t.cleanup();
  });

  const streamId = () => `incident-${randomUUID()}`;
  /** Another writer's append to the stream. */
  const record = (id: string, event: AntibodyEvent) => appendTraced(t.store, id, [event], { producer, correlationId: id, causationId: null });
  const appender = (id: string, seen: ExpectedVersion[]) => (events: readonly AntibodyEvent[], expectedVersion: ExpectedVersion) => {
    seen.push(expectedVersion);
    return appendTraced(t.store, id, events, { producer, correlationId: id, causationId: null, expectedVersion });
  };

  it('given a new stream, appends the decided events expecting no stream', async () => {
    const id = streamId();
    const seen: ExpectedVersion[] = [];
    const outcome = await handleCommand({ store: t.store, streamId: id, fold: escalations, append: appender(id, seen) }, (count) => (count === 0 ? escalate('first') : ignore('already escalated')));
    expect(outcome).toMatchObject({ kind: 'appended', attempts: 1 });
    expect(seen).toEqual(['no-stream']);
    expect((await t.store.readStream(id)).currentVersion).toBe(0);
  });

  it('names why nothing was appended', async () => {
    const id = streamId();
    await record(id, { type: 'IncidentEscalated', data: { reason: 'earlier', step: 'diagnosis' } });
    const outcome = await handleCommand({ store: t.store, streamId: id, fold: escalations, append: appender(id, []) }, (count) => (count === 0 ? escalate('x') : ignore('already escalated')));
    expect(outcome).toEqual({ kind: 'ignored', because: 'already escalated', attempts: 1 });
    expect((await t.store.readStream(id)).currentVersion).toBe(0);
  });

  it('given another writer appends between the read and the append, decides again on the new state', async () => {
    const id = streamId();
    await record(id, { type: 'DiagnosisFailed', data: { reason: 'no rule' } });
    const seen: ExpectedVersion[] = [];
    let decisions = 0;
    const outcome = await handleCommand({ store: t.store, streamId: id, fold: escalations, append: appender(id, seen) }, async (count) => {
      decisions++;
      // The first time, a concurrent handler escalates the incident after our read.
      if (decisions === 1) await record(id, { type: 'IncidentEscalated', data: { reason: 'concurrent', step: 'diagnosis' } });
      return count === 0 ? escalate('mine') : ignore('already escalated');
    });
    expect(seen).toEqual([0]);
    expect(outcome).toEqual({ kind: 'ignored', because: 'already escalated', attempts: 2 });
    const { events } = await t.store.readStream(id);
    expect(events.map((e) => (e.type === 'IncidentEscalated' ? e.data.reason : e.type))).toEqual(['DiagnosisFailed', 'concurrent']);
  });

  it('appends at the new version when the new state still calls for it', async () => {
    const id = streamId();
    await record(id, { type: 'DiagnosisFailed', data: { reason: 'no rule' } });
    const seen: ExpectedVersion[] = [];
    let decisions = 0;
    const outcome = await handleCommand({ store: t.store, streamId: id, fold: escalations, append: appender(id, seen) }, async (count) => {
      decisions++;
      if (decisions === 1) await record(id, { type: 'OccurrencesCounted', data: { bucketStart: new Date().toISOString(), bucketSeconds: 60, count: 3 } });
      return count === 0 ? escalate('mine') : ignore('already escalated');
    });
    expect(seen).toEqual([0, 1]);
    expect(outcome).toMatchObject({ kind: 'appended', attempts: 2 });
    expect((await t.store.readStream(id)).events.map((e) => e.type)).toEqual(['DiagnosisFailed', 'OccurrencesCounted', 'IncidentEscalated']);
  });

  it('gives up with the version conflict after maxAttempts', async () => {
    const id = streamId();
    await record(id, { type: 'DiagnosisFailed', data: { reason: 'no rule' } });
    const busy = async () => {
      await record(id, { type: 'OccurrencesCounted', data: { bucketStart: new Date().toISOString(), bucketSeconds: 60, count: 1 } });
      return escalate('never');
    };
    await expect(handleCommand({ store: t.store, streamId: id, fold: escalations, append: appender(id, []), maxAttempts: 3 }, busy)).rejects.toBeInstanceOf(WrongExpectedVersionError);
    const { events } = await t.store.readStream(id);
    expect(events.filter((e) => e.type === 'IncidentEscalated')).toHaveLength(0);
    expect(events).toHaveLength(4);
  });
});
