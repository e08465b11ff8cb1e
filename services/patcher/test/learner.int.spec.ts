import { randomUUID } from 'node:crypto';
import { generaliseFix } from '@antibody/fix-kit';
import { gitRepository } from '@antibody/fix-io';
import { createTestStore, testMetadata, type TestStore } from '@antibody/testing';
import { Learner } from '../src/handlers/learner';

// The learner on real Postgres: outcomes of pattern fixes move the EMA and retire a failing pattern.
describe('learning from outcomes', () => {
  let t: TestStore;
  beforeEach(async () => {
    t = await createTestStore('learner');
  });
  afterEach(async () => {
    await t.cleanup();
  });

  it('given a learned pattern, each resolved or rolled-back fix records one outcome; it is retired below 0.5 only after more than 10 uses, and a retired pattern records nothing more', async () => {
    const patternId = randomUUID();
    const template = generaliseFix('a.js', 'f(xs.reduce((a, b) => a + b));\n', 'f(xs.reduce((a, b) => a + b, 0));\n');
    await t.store.appendToStream(`pattern-${patternId}`, [{ type: 'PatternLearned', data: { patternId, errorClass: 'TypeError:reduce-empty-array', template, source: 'incident' }, metadata: testMetadata() }]);
    const learner = new Learner({ store: t.store, openRepository: (l) => gitRepository(l) });

    const outcome = async (type: 'IncidentResolved' | 'RolledBack'): Promise<void> => {
      const incidentId = randomUUID();
      const patchId = randomUUID();
      const streamId = `incident-${incidentId}`;
      const proposed = { patchId, diff: '--- a/x\n+++ b/x\n', files: ['src/x.js'], rationale: 'r', source: 'pattern', patternId, rank: 1, confidence: 0.9 };
      const result = type === 'IncidentResolved' ? { resolution: 'deployed', patchId } : { patchId, reason: 'error rate up', stage: 5 };
      await t.store.appendToStream(streamId, [
        { type: 'PatchProposed', data: proposed, metadata: testMetadata({ correlationId: incidentId }) },
        { type, data: result, metadata: testMetadata({ correlationId: incidentId }) },
      ]);
      const [, event] = (await t.store.readStream(streamId)).events;
      const learned = await learner.learn(event!);
      if (learned.kind === 'append') await t.store.appendToStream(learned.streamId, learned.events.map((e) => ({ ...e, metadata: testMetadata() })));
      // Redelivery: nothing new.
      expect(await learner.learn(event!)).toMatchObject({ kind: 'ignore' });
    };

    await outcome('IncidentResolved');
    let events = (await t.store.readStream(`pattern-${patternId}`)).events;
    expect(events.map((e) => e.type)).toEqual(['PatternLearned', 'PatternOutcomeRecorded']);
    expect(events[1]?.data).toMatchObject({ success: true, successEstimate: 1 });

    // Failures: 0.9, 0.81, ... The estimate is under 0.5 from the 7th failure, but retirement waits for more than 10 uses.
    for (let i = 0; i < 11; i++) await outcome('RolledBack');
    events = (await t.store.readStream(`pattern-${patternId}`)).events;
    const outcomes = events.filter((e) => e.type === 'PatternOutcomeRecorded').map((e) => e.data as { successEstimate: number });
    expect(outcomes).toHaveLength(11);
    expect(outcomes[7]?.successEstimate).toBeCloseTo(0.9 ** 7, 9);
    expect(outcomes[10]?.successEstimate).toBeCloseTo(0.9 ** 10, 9);
    expect(events.map((e) => e.type).slice(-2)).toEqual(['PatternOutcomeRecorded', 'PatternRetired']);
    expect(events[events.length - 1]?.data).toMatchObject({ reason: expect.stringMatching(/after 11 uses/) });
  });
});
