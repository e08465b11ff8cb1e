// The first sample's diagnosis is appended at the stream version it was decided at. Events that
// land on the incident's stream while a model call is in flight (occurrence counts, later
// samples) do not change the answer: it is appended at the new version, never paid for twice.
// Real Postgres, the service in-process on the store-log transport, the model a local server
// speaking the OpenAI wire protocol, driven through the real SDK.
import type { INestApplication } from '@nestjs/common';
import type { StoredEvent } from '@antibody/event-store';
import { createTempRepo, startFakeOpenAi, type FakeChatReply, type FakeOpenAi, type TempRepo } from '@antibody/fix-io/testing';
import { createTestStore, testMetadata, uniqueName, waitFor, type TestStore } from '@antibody/testing';
import { Diagnoser } from '../src/handlers/diagnoser';
import { openIncident, registerService, startAnalyzer } from './support';

const CART = `const prices = new Map([['apple', { amount: 3 }]]);

export function lineTotal(sku: string, qty: number): number {
  const price = prices.get(sku);
  return price.amount * qty;
}
`;

const FRAMES = [{ filename: '/srv/app/src/cart.ts', function: 'lineTotal', lineno: 5 }];
const ANSWER: FakeChatReply = { content: JSON.stringify({ rootCause: 'the flux is read before sync()', file: 'src/cart.ts', line: 5, confidence: 0.6 }), promptTokens: 400, completionTokens: 40 };

describe('antibody-analyzer, first diagnosis while the stream moves on (real Postgres, store-log transport)', () => {
  let t: TestStore;
  let repo: TempRepo;
  let app: INestApplication | undefined;
  let fake: FakeOpenAi | undefined;
  /** Runs while the model call is in flight, before the model answers. */
  let duringFirstCall: () => Promise<void>;

  beforeAll(async () => {
    t = await createTestStore('analyzer_first_diagnosis');
  });
  afterAll(async () => {
    await t.cleanup();
  });
  beforeEach(async () => {
    repo = createTempRepo();
    fake = await startFakeOpenAi(async () => {
      if (fake?.requests.length === 1) await duringFirstCall();
      return ANSWER;
    });
  });
  afterEach(async () => {
    await app?.close();
    app = undefined;
    await fake?.close();
    repo.remove();
  });

  const events = async (streamId: string) => (await t.store.readStream(streamId)).events;
  const types = (all: readonly StoredEvent[]) => all.map((e) => e.type);
  const metadataOf = (streamId: string) => testMetadata({ correlationId: streamId.replace('incident-', '') });

  /** An incident no rule matches, so its diagnosis needs the small LLM tier; returns its stream. */
  async function incidentNeedingTheModel(): Promise<string> {
    const release = repo.commit({ 'src/cart.ts': CART });
    const service = uniqueName('shop').replace(/_/g, '-');
    await registerService(t.store, service, repo.dir);
    app = await startAnalyzer(t, {
      ANTIBODY_LLM_SMALL_BASE_URL: fake!.baseUrl,
      ANTIBODY_LLM_SMALL_API_KEY: 'k',
      ANTIBODY_LLM_SMALL_MODEL: 'cheap',
      ANTIBODY_LLM_PRICES: JSON.stringify({ cheap: { inputPerMTok: 0.5, outputPerMTok: 1.5 } }),
    });
    return openIncident(t.store, { service, release, type: 'WeirdError', message: 'flux out of sync', frames: FRAMES });
  }

  it('given an occurrence count and a later sample land on the stream while the model call is in flight, then the model is paid once: one LlmCallMetered and one DiagnosisMade, after them', async () => {
    let streamId = '';
    duringFirstCall = async () => {
      const metadata = metadataOf(streamId);
      const sample = (await events(streamId)).find((e) => e.type === 'ErrorRecorded')!;
      await t.store.appendToStream(streamId, [{ type: 'OccurrencesCounted', data: { bucketStart: new Date().toISOString(), bucketSeconds: 60, count: 3 }, metadata }]);
      await t.store.appendToStream(streamId, [{ type: 'ErrorRecorded', data: sample.data, metadata }]);
    };
    streamId = await incidentNeedingTheModel();

    await waitFor(async () => types(await events(streamId)).includes('DiagnosisMade'), { timeoutMs: 20_000, description: `DiagnosisMade on ${streamId}` });
    const all = await events(streamId);
    expect(types(all)).toEqual(['IncidentOpened', 'ErrorRecorded', 'OccurrencesCounted', 'ErrorRecorded', 'LlmCallMetered', 'DiagnosisMade']);
    expect(fake!.requests).toHaveLength(1);
    const sample = all[1]!;
    const [metered, made] = [all[4]!, all[5]!];
    expect(metered.metadata.causationId).toBe(sample.eventId);
    expect(made.metadata.causationId).toBe(sample.eventId);
    expect(made.data).toMatchObject({ source: 'llm', model: 'cheap', costUsd: (metered.data as { costUsd: number }).costUsd, location: { file: 'src/cart.ts', line: 5 } });

    // A redelivery of the first sample finds the incident diagnosed; the later sample is not diagnosed.
    const diagnoser = app!.get(Diagnoser);
    expect(await diagnoser.decide({ kind: 'first-sample', sampleId: sample.eventId }, streamId)).toEqual({ kind: 'ignore', because: expect.stringMatching(/already diagnosed/) });
    expect(await diagnoser.decide({ kind: 'first-sample', sampleId: all[3]!.eventId }, streamId)).toEqual({ kind: 'ignore', because: expect.stringMatching(/only the first sample is diagnosed/) });
    expect(fake!.requests).toHaveLength(1);
  });

  it('given another instance records a diagnosis while the model call is in flight, then nothing more is appended', async () => {
    let streamId = '';
    duringFirstCall = async () => {
      await t.store.appendToStream(streamId, [
        { type: 'DiagnosisMade', data: { rootCause: 'diagnosed elsewhere', location: { file: 'src/cart.ts', line: 5 }, source: 'llm', model: 'other', confidence: 0.5 }, metadata: metadataOf(streamId) },
      ]);
    };
    streamId = await incidentNeedingTheModel();
    const sample = (await events(streamId)).find((e) => e.type === 'ErrorRecorded')!;

    await waitFor(() => handled(sample), { timeoutMs: 20_000, description: 'the first sample handled' });
    expect(types(await events(streamId))).toEqual(['IncidentOpened', 'ErrorRecorded', 'DiagnosisMade']);
    expect((await events(streamId))[2]!.data).toMatchObject({ rootCause: 'diagnosed elsewhere' });
    expect(fake!.requests).toHaveLength(1);
  });

  /** True once the first-sample consumer's checkpoint is at or past `event`: its handler has returned. */
  async function handled(event: StoredEvent): Promise<boolean> {
    const { rows } = await t.pool.query<{ past: boolean }>(
      `SELECT (transaction_id, global_position) >= ($2::xid8, $3::bigint) AS past FROM ${t.schema}.checkpoints WHERE name = $1`,
      ['bus:analyzer-diagnose', event.transactionId, event.globalPosition],
    );
    return rows[0]?.past === true;
  }
});
