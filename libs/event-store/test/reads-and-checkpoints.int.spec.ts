import { randomUUID } from 'node:crypto';
import { advanceCheckpoint, createEventStore, ensureCheckpoint, readCheckpoint, START } from '@antibody/event-store';
import { createTestStore, testMetadata, type TestStore } from '@antibody/testing';

describe('event store reads and checkpoints', () => {
  let t: TestStore;
  beforeAll(async () => {
    t = await createTestStore('esr');
  });
  afterAll(async () => {
    await t.cleanup();
  });

  it('hands out stored data upcast to the current schema version, on stream and log reads alike; verification covers what was stored', async () => {
    // A store whose catalog says DiagnosisFailed is at version 2, where v1's `why` became `reason`.
    const store = createEventStore({
      pool: t.pool,
      schema: t.schema,
      validator: {
        validate: () => ({ ok: true }),
        currentVersion: () => 2,
        upcast: (_type, _version, data) => ({ schemaVersion: 2, data: { reason: (data as { why: string }).why } }),
      },
    });
    const streamId = `incident-${randomUUID()}`;
    await store.appendToStream(streamId, [{ type: 'DiagnosisFailed', schemaVersion: 1, data: { why: 'no rule' }, metadata: testMetadata() }]);
    const [read] = (await store.readStream(streamId)).events;
    expect(read).toMatchObject({ schemaVersion: 2, data: { reason: 'no rule' } });
    const fromLog = (await store.readAll({ limit: 10_000 })).events.find((e) => e.streamId === streamId);
    expect(fromLog).toMatchObject({ schemaVersion: 2, data: { reason: 'no rule' } });
    expect((await store.verifyStream(streamId)).ok).toBe(true);
  });

  it('creates a checkpoint once and advances it only from where it is (compare and set)', async () => {
    const name = `relay:${randomUUID()}`;
    expect(await readCheckpoint(t.store, name)).toBeUndefined();
    expect(await ensureCheckpoint(t.store, name)).toEqual(START);
    const later = { transactionId: '10', position: '42' };
    expect(await ensureCheckpoint(t.store, name, later)).toEqual(START); // already there: kept
    expect(await advanceCheckpoint(t.store, name, START, later)).toBe(true);
    expect(await advanceCheckpoint(t.store, name, START, { transactionId: '11', position: '43' })).toBe(false); // moved by someone else
    expect(await readCheckpoint(t.store, name)).toEqual(later);
  });

  it('lists the streams with a prefix and their current versions, and nothing else', async () => {
    const prefix = `svc${randomUUID().slice(0, 8)}-`;
    for (const [name, count] of [['b', 2], ['a', 1], ['a_', 1]] as const) {
      await t.store.appendToStream(`${prefix}${name}`, Array.from({ length: count }, () => ({ type: 'DiagnosisFailed', data: { reason: 'x' }, metadata: testMetadata() })));
    }
    await t.store.appendToStream(`x${prefix}c`, [{ type: 'DiagnosisFailed', data: { reason: 'x' }, metadata: testMetadata() }]);
    expect(await t.store.listStreams(prefix)).toEqual([
      { streamId: `${prefix}a`, currentVersion: 0 },
      { streamId: `${prefix}a_`, currentVersion: 0 },
      { streamId: `${prefix}b`, currentVersion: 1 },
    ]);
    expect(await t.store.listStreams(`${prefix}zz`)).toEqual([]);
  });
});
