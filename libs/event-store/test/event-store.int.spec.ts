import { randomUUID } from 'node:crypto';
import {
  EventIdReusedError,
  InvalidEventError,
  StreamNotFoundError,
  WrongExpectedVersionError,
  type NewEvent,
  type StoredEvent,
} from '@antibody/event-store';
import { createTestStore, testMetadata, waitFor, type TestStore } from '@antibody/testing';

function opened(incidentId = randomUUID()): NewEvent {
  return {
    type: 'IncidentOpened',
    data: {
      incidentId,
      service: 'checkout',
      fingerprint: 'f'.repeat(32),
      exception: { type: 'TypeError', value: "Cannot read properties of undefined (reading 'id')" },
      firstSeen: new Date().toISOString(),
    },
    metadata: testMetadata({ correlationId: incidentId }),
  };
}

function failed(reason: string, eventId?: string): NewEvent {
  return { eventId, type: 'DiagnosisFailed', data: { reason }, metadata: testMetadata() };
}

describe('Postgres event store', () => {
  let t: TestStore;
  beforeAll(async () => {
    t = await createTestStore('es');
  });
  afterAll(async () => {
    await t.cleanup();
  });

  const stream = () => `incident-${randomUUID()}`;

  it('appends atomically and reads a stream back in order, up to a version', async () => {
    const id = stream();
    const result = await t.store.appendToStream(id, [opened(), failed('a'), failed('b')], { expectedVersion: 'no-stream' });
    expect(result).toMatchObject({ nextExpectedVersion: 2, duplicate: false });
    expect(result.positions).toHaveLength(3);

    const all = await t.store.readStream(id);
    expect(all.events.map((e) => e.streamVersion)).toEqual([0, 1, 2]);
    expect(all.events.map((e) => e.type)).toEqual(['IncidentOpened', 'DiagnosisFailed', 'DiagnosisFailed']);
    const upTo1 = await t.store.readStream(id, { toVersion: 1 });
    expect(upTo1.events.map((e) => e.streamVersion)).toEqual([0, 1]);
    expect(await t.store.readStream(stream())).toEqual({ exists: false, currentVersion: -1, events: [] });
  });

  it('refuses a wrong expected version with a typed error and writes nothing', async () => {
    const id = stream();
    await t.store.appendToStream(id, [opened()], { expectedVersion: 'no-stream' });
    await expect(t.store.appendToStream(id, [failed('x')], { expectedVersion: 'no-stream' })).rejects.toMatchObject({
      name: 'WrongExpectedVersionError',
      code: 'WRONG_EXPECTED_VERSION',
      actual: 0,
      expected: 'no-stream',
    });
    await expect(t.store.appendToStream(id, [failed('x')], { expectedVersion: 5 })).rejects.toBeInstanceOf(WrongExpectedVersionError);
    await expect(t.store.appendToStream(stream(), [failed('x')], { expectedVersion: 0 })).rejects.toMatchObject({ actual: -1 });
    expect((await t.store.readStream(id)).currentVersion).toBe(0);
    await expect(t.store.appendToStream(id, [failed('y')], { expectedVersion: 0 })).resolves.toMatchObject({ nextExpectedVersion: 1 });
  });

  it('lets exactly one of two concurrent writers with the same expected version win', async () => {
    const id = stream();
    await t.store.appendToStream(id, [opened()]);
    const outcomes = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) => t.store.appendToStream(id, [failed(`w${i}`)], { expectedVersion: 0 })),
    );
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    expect((await t.store.readStream(id)).currentVersion).toBe(1);
  });

  it('turns a retry with the same event ids into a no-op that returns the original positions', async () => {
    const id = stream();
    const batch = [opened(), failed('first', randomUUID())].map((e) => ({ ...e, eventId: e.eventId ?? randomUUID() }));
    const first = await t.store.appendToStream(id, batch, { expectedVersion: 'no-stream' });
    await t.store.appendToStream(id, [failed('later')]);
    const retry = await t.store.appendToStream(id, batch, { expectedVersion: 'no-stream' });
    expect(retry).toEqual({ ...first, duplicate: true });
    expect((await t.store.readStream(id)).events).toHaveLength(3);
  });

  it('refuses event ids reused for other events', async () => {
    const id = stream();
    const eventId = randomUUID();
    await t.store.appendToStream(id, [failed('original', eventId)]);
    await expect(t.store.appendToStream(id, [failed('different', eventId)])).rejects.toBeInstanceOf(EventIdReusedError);
    await expect(t.store.appendToStream(stream(), [failed('original', eventId)])).rejects.toBeInstanceOf(EventIdReusedError);
  });

  it('rejects an invalid event naming the field, writing nothing of the batch', async () => {
    const id = stream();
    const bad = opened();
    const { fingerprint: _omitted, ...data } = bad.data as Record<string, unknown>;
    const error = await t.store.appendToStream(id, [failed('ok'), { ...bad, data }]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidEventError);
    expect((error as InvalidEventError).path).toBe('data.fingerprint');
    expect((error as Error).message).toContain('data.fingerprint');
    await expect(t.store.appendToStream(id, [{ ...failed('x'), type: 'NoSuchEvent' }])).rejects.toMatchObject({ path: 'type' });
    await expect(t.store.appendToStream(id, [{ ...failed('x'), metadata: { ...testMetadata(), producer: undefined } as never }])).rejects.toMatchObject({
      path: 'metadata.producer',
    });
    expect((await t.store.readStream(id)).exists).toBe(false);
  });

  it('reads the global log gap-safely: an open transaction holds readers back instead of being skipped', async () => {
    const { events: before, checkpoint: start } = await t.store.readAll({ after: await t.store.headCheckpoint() });
    expect(before).toEqual([]);

    const slow = await t.pool.connect();
    const lateStream = stream();
    try {
      await slow.query('BEGIN');
      // The slow transaction takes its global position first, then stays open.
      await t.store.appendToStream(lateStream, [failed('late')], { client: slow });
      const quick = stream();
      await t.store.appendToStream(quick, [failed('quick-1'), failed('quick-2')]);

      const whileOpen = await t.store.readAll({ after: start });
      expect(whileOpen.events.map((e) => e.streamId)).not.toContain(quick);
      expect(whileOpen.events.map((e) => e.streamId)).not.toContain(lateStream);

      await slow.query('COMMIT');
      // Other suites' transactions on this cluster may briefly hold the horizon back too.
      const afterCommit = await waitFor(async () => {
        const read = await t.store.readAll({ after: start });
        return read.events.length >= 3 && read;
      });
      const streams = afterCommit.events.map((e) => e.streamId);
      expect(streams).toEqual([lateStream, quick, quick]);
    } finally {
      slow.release();
    }
  });

  it('does not stall readers on sequence gaps left by rolled-back appends', async () => {
    const start = await t.store.headCheckpoint();
    const client = await t.pool.connect();
    try {
      await client.query('BEGIN');
      await t.store.appendToStream(stream(), [failed('doomed')], { client });
      await client.query('ROLLBACK');
    } finally {
      client.release();
    }
    const id = stream();
    await t.store.appendToStream(id, [failed('after-gap')]);
    const read = await waitFor(async () => {
      const page = await t.store.readAll({ after: start });
      return page.events.length > 0 && page;
    });
    expect(read.events.map((e) => e.streamId)).toEqual([id]);
  });

  it('pages through the global log with checkpoints without skipping or repeating', async () => {
    const start = await t.store.headCheckpoint();
    const ids = Array.from({ length: 5 }, stream);
    for (const id of ids) await t.store.appendToStream(id, [failed('1'), failed('2')]);
    const seen: StoredEvent[] = [];
    let after = start;
    await waitFor(async () => {
      const page = await t.store.readAll({ after, limit: 3 });
      seen.push(...page.events);
      after = page.checkpoint;
      return seen.length >= 10;
    });
    expect(seen.map((e) => e.streamId)).toEqual(ids.flatMap((id) => [id, id]));
  });

  it('verifies hash chains and names the stream and version an UPDATE tampered with', async () => {
    const id = stream();
    await t.store.appendToStream(id, [opened(), failed('a'), failed('b')]);
    await expect(t.store.verifyStream(id)).resolves.toEqual({ streamId: id, ok: true, eventsChecked: 3 });

    // The trigger refuses an ordinary UPDATE…
    await expect(t.pool.query(`UPDATE "${t.schema}".events SET data = '{"reason":"x"}' WHERE stream_id = $1 AND stream_version = 1`, [id])).rejects.toThrow(
      /immutable/,
    );
    // …so the tamperer is someone who can switch it off.
    await t.pool.query(`ALTER TABLE "${t.schema}".events DISABLE TRIGGER events_are_immutable`);
    await t.pool.query(`UPDATE "${t.schema}".events SET data = '{"reason":"forged"}' WHERE stream_id = $1 AND stream_version = 1`, [id]);
    await t.pool.query(`ALTER TABLE "${t.schema}".events ENABLE TRIGGER events_are_immutable`);

    const verdict = await t.store.verifyStream(id);
    expect(verdict).toMatchObject({ streamId: id, ok: false, eventsChecked: 1, breach: { streamVersion: 1, reason: 'content-altered' } });
    const all = await t.store.verifyAll();
    expect(all.breaches).toEqual([expect.objectContaining({ streamId: id, breach: expect.objectContaining({ streamVersion: 1 }) })]);
    await expect(t.store.verifyStream(stream())).rejects.toBeInstanceOf(StreamNotFoundError);
  });
});
