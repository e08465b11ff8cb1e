import { randomUUID } from 'node:crypto';
import { createEventStore, deterministicEventId, WrongExpectedVersionError, type NewEvent, type StoredEvent } from '@antibody/event-store';
import { createTestStore, testMetadata, waitFor, type TestStore } from '@antibody/testing';
import { appendEvents, type Fold } from '@antibody/contracts';
import { handleCommand } from '@antibody/bus';
import type { TransportHarness } from './harness';

function diagnosisFailed(reason: string, correlationId = randomUUID()): NewEvent {
  return { type: 'DiagnosisFailed', data: { reason }, metadata: testMetadata({ correlationId }) };
}

async function streamEvents(t: TestStore, streamId: string): Promise<readonly StoredEvent[]> {
  return (await t.store.readStream(streamId)).events;
}

/**
 * The behaviour every transport must show. Run once per transport: the JetStream bus and the
 * embedded store-log bus are interchangeable only if both pass it.
 */
export function busContract(name: string, makeHarness: (t: TestStore) => Promise<TransportHarness>): void {
  describe(`${name} transport contract`, () => {
    let t: TestStore;
    let harness: TransportHarness;
    beforeEach(async () => {
      t = await createTestStore('bus');
      harness = await makeHarness(t);
    });
    afterEach(async () => {
      await harness.stop();
      await t.cleanup();
    });

    it('delivers the wanted types from position 0, and emitted events carry causation, correlation and derived ids', async () => {
      const source = `incident-${randomUUID()}`;
      const correlationId = randomUUID();
      await t.store.appendToStream(source, [diagnosisFailed('before-consumer', correlationId)]);
      const bus = await harness.newInstance('a');
      const seen: string[] = [];
      await bus.consume({ durable: 'analyzer', types: ['DiagnosisFailed'] }, async (event, ctx) => {
        seen.push((event.data as { reason: string }).reason);
        await ctx.emit(`effect-${event.eventId}`, [{ type: 'IncidentEscalated', data: { reason: 'x', step: 'diagnosis' } }]);
      });
      await t.store.appendToStream(source, [{ ...diagnosisFailed('ignored'), type: 'PatchFailed', data: { reason: 'not for me' } }]);
      await t.store.appendToStream(source, [diagnosisFailed('after-consumer', correlationId)]);
      await waitFor(() => seen.length >= 2, { description: 'two deliveries' });
      expect(seen.sort()).toEqual(['after-consumer', 'before-consumer']);

      const [first] = (await t.store.readStream(source)).events;
      const effects = await streamEvents(t, `effect-${first?.eventId}`);
      await waitFor(async () => (await streamEvents(t, `effect-${first?.eventId}`)).length === 1, { description: 'the effect' });
      const effect = (await streamEvents(t, `effect-${first?.eventId}`))[0];
      expect(effects.length).toBeLessThanOrEqual(1);
      expect(effect?.metadata).toMatchObject({ causationId: first?.eventId, correlationId });
    });

    it('derives emitted ids from (event, handler, index), and an append refused for its version uses up no index', async () => {
      const source = `incident-${randomUUID()}`;
      await t.store.appendToStream(source, [diagnosisFailed('conflicting')]);
      const bus = await harness.newInstance('a');
      let refused: unknown;
      await bus.consume({ durable: 'validator', handlerName: 'validator.judge', types: ['DiagnosisFailed'] }, async (event, ctx) => {
        const escalate = [{ type: 'IncidentEscalated' as const, data: { reason: 'x', step: 'diagnosis' as const } }];
        refused = await ctx.emit(event.streamId, escalate, { expectedVersion: 7 }).catch((error: unknown) => error);
        await ctx.emit(event.streamId, escalate, { expectedVersion: event.streamVersion });
      });
      await waitFor(async () => (await streamEvents(t, source)).length === 2, { description: 'the effect' });
      const [cause, effect] = await streamEvents(t, source);
      expect(refused).toBeInstanceOf(WrongExpectedVersionError);
      expect(effect?.eventId).toBe(deterministicEventId(cause!.eventId, 'validator.judge', 0));
    });

    it('hands each event on its own: a handler deciding at the expected version reads what it appended for the event before', async () => {
      const source = `incident-${randomUUID()}`;
      // Three events in one append: the store-log transport reads them in one round.
      await t.store.appendToStream(source, [diagnosisFailed('one'), diagnosisFailed('two'), diagnosisFailed('three')]);
      const bus = await harness.newInstance('a');
      const escalations: Fold<number> = { initialState: () => 0, evolve: (n, e) => (e.type === 'IncidentEscalated' ? n + 1 : n) };
      await bus.consume({ durable: 'analyzer', types: ['DiagnosisFailed'] }, async (event, ctx) => {
        await handleCommand({ store: t.store, streamId: source, fold: escalations, append: (events, expectedVersion) => ctx.emit(source, events, { expectedVersion }), maxAttempts: 2 }, (n) =>
          appendEvents({ type: 'IncidentEscalated', data: { reason: `escalation ${n + 1}`, step: 'diagnosis' } }),
        );
      });
      await waitFor(async () => (await streamEvents(t, source)).length === 6, { description: 'three escalations' });
      const reasons = (await t.store.readStream(source)).events.flatMap((e) => (e.type === 'IncidentEscalated' ? [e.data.reason] : []));
      expect(reasons).toEqual(['escalation 1', 'escalation 2', 'escalation 3']);
    });

    it('shares one durable consumer between two instances: every event has exactly one effect', async () => {
      const a = await harness.newInstance('a');
      const b = await harness.newInstance('b');
      const handledBy: Record<string, number> = { a: 0, b: 0 };
      const handler = (instance: 'a' | 'b') => async (event: StoredEvent, ctx: Parameters<Parameters<typeof a.consume>[1]>[1]) => {
        handledBy[instance] = (handledBy[instance] ?? 0) + 1;
        await ctx.emit(`effect-${event.eventId}`, [{ type: 'IncidentEscalated', data: { reason: 'x', step: 'diagnosis' } }]);
      };
      await a.consume({ durable: 'patcher', types: ['DiagnosisFailed'], concurrency: 4 }, handler('a'));
      await b.consume({ durable: 'patcher', types: ['DiagnosisFailed'], concurrency: 4 }, handler('b'));
      const sources: string[] = [];
      for (let i = 0; i < 20; i++) {
        const id = `incident-${randomUUID()}`;
        sources.push(id);
        await t.store.appendToStream(id, Array.from({ length: 5 }, (_, j) => diagnosisFailed(`${i}-${j}`)));
      }
      const all = (await Promise.all(sources.map((s) => streamEvents(t, s)))).flat();
      await waitFor(
        async () => {
          const { rows } = await t.pool.query(`SELECT count(*)::int AS n FROM "${t.schema}".events WHERE stream_id LIKE 'effect-%'`);
          return rows[0].n >= all.length;
        },
        { timeoutMs: 30_000, description: '100 effects' },
      );
      const { rows } = await t.pool.query(
        `SELECT metadata->>'causationId' AS cause, count(*)::int AS n FROM "${t.schema}".events WHERE stream_id LIKE 'effect-%' GROUP BY 1`,
      );
      expect(rows).toHaveLength(all.length);
      expect(rows.every((r: { n: number }) => r.n === 1)).toBe(true);
      expect(new Set(rows.map((r: { cause: string }) => r.cause))).toEqual(new Set(all.map((e) => e.eventId)));
      expect((handledBy.a ?? 0) + (handledBy.b ?? 0)).toBeGreaterThanOrEqual(all.length);
    });

    it('dead-letters a poison event after maxDeliver attempts and keeps going', async () => {
      const bus = await harness.newInstance('a');
      const handled: string[] = [];
      const attempts: number[] = [];
      await bus.consume({ durable: 'validator', types: ['DiagnosisFailed'], maxDeliver: 3, backoffMs: [20] }, async (event, ctx) => {
        const reason = (event.data as { reason: string }).reason;
        if (reason === 'poison') {
          attempts.push(ctx.deliveryCount);
          throw new Error('cannot digest this');
        }
        handled.push(reason);
      });
      const stream = `incident-${randomUUID()}`;
      await t.store.appendToStream(stream, [diagnosisFailed('before'), diagnosisFailed('poison'), diagnosisFailed('after')]);
      const deadLetters = await waitFor(async () => {
        const events = await streamEvents(t, 'deadletter-validator');
        return events.length > 0 && events;
      }, { timeoutMs: 30_000, description: 'a dead-letter event' });
      await waitFor(() => handled.includes('after'), { description: 'the event after the poison one' });
      const poison = (await streamEvents(t, stream))[1];
      expect(deadLetters).toHaveLength(1);
      expect(deadLetters[0]?.data).toMatchObject({ consumer: 'validator', originalEventId: poison?.eventId, originalType: 'DiagnosisFailed', deliveryCount: 3 });
      expect((deadLetters[0]?.data as { reason: string }).reason).toContain('cannot digest this');
      expect(attempts).toEqual([1, 2, 3]);
    });

    it('dead-letters an event that fails its schema, naming the field, and keeps going', async () => {
      const lenient = createEventStore({ pool: t.pool, schema: t.schema, validator: { validate: () => ({ ok: true }), currentVersion: () => 1 } });
      const bus = await harness.newInstance('a');
      const handled: string[] = [];
      await bus.consume({ durable: 'deployer', types: ['IncidentOpened', 'DiagnosisFailed'] }, async (event) => {
        handled.push(event.type);
      });
      const stream = `incident-${randomUUID()}`;
      await lenient.appendToStream(stream, [{ type: 'IncidentOpened', data: { incidentId: randomUUID(), service: 'x' }, metadata: testMetadata() }]);
      await t.store.appendToStream(stream, [diagnosisFailed('fine')]);
      const deadLetters = await waitFor(async () => {
        const events = await streamEvents(t, 'deadletter-deployer');
        return events.length > 0 && events;
      }, { timeoutMs: 30_000, description: 'a dead-letter event' });
      await waitFor(() => handled.includes('DiagnosisFailed'), { description: 'the valid event' });
      expect(handled).toEqual(['DiagnosisFailed']);
      expect((deadLetters[0]?.data as { reason: string }).reason).toMatch(/schema: .*data\.fingerprint/);
      await lenient.close();
    });
  });
}
