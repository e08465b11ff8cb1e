import { incidentIdSchema, patchIdSchema, serviceNameSchema, type RecordedEvent } from '@antibody/contracts';
import { foldEvents } from '@antibody/contracts';
import { incidentFold, serviceFold, type ServiceState } from '@antibody/domain';
import { analyseError, type Analysis, type LlmSettings, type ModelReply } from '@antibody/fix-kit';
import { deciderSpec, testStream } from '@antibody/testing';
import { decideDiagnosis, DiagnosisError, type CodeFacts, type DiagnoseCommand, type DiagnosisTrigger } from './decide';

const INCIDENT = '7d9e2c1a-0000-4000-8000-00000000000a';
const P1 = patchIdSchema.parse('1a2b3c4d-0000-4000-8000-000000000001');
const P2 = patchIdSchema.parse('5e6f7a8b-0000-4000-8000-000000000002');
const RELEASE = 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678';
const CART = `const prices = new Map([['apple', { amount: 3 }]]);

export function lineTotal(sku: string, qty: number): number {
  const price = prices.get(sku);
  return price.amount * qty;
}
`;
const FRAMES = [{ filename: '/srv/app/src/cart.ts', function: 'lineTotal', lineno: 5, inApp: true }];
const TYPE_ERROR = { type: 'TypeError', value: "Cannot read properties of undefined (reading 'amount')" };
const WEIRD = { type: 'WeirdError', value: 'flux out of sync' };
const LLM: LlmSettings = { tiers: { small: { baseUrl: 'http://127.0.0.1:1/v1', apiKey: 'k', model: 'cheap' } }, prices: { cheap: { inputPerMTok: 0.5, outputPerMTok: 1.5 } } };
const BUDGETS = { perIncidentUsd: 1, dailyUsd: 5, monthlyUsd: 50 };

const svc = testStream('service-shop');
const registered = svc.event('ServiceRegistered', {
  name: serviceNameSchema.parse('shop'),
  repository: { url: '/repos/shop', defaultBranch: 'main' },
  commands: { test: 'node --test' },
  language: 'typescript',
  deploy: { adapter: 'none', settings: {} },
  policy: { autoDeploy: false, allowedPaths: ['src/**'], forbiddenPaths: [], budgets: BUDGETS },
});
const SHOP: ServiceState = foldEvents(serviceFold, [registered]);
const DEREGISTERED: ServiceState = foldEvents(serviceFold, [registered, svc.event('ServiceDeregistered', { name: serviceNameSchema.parse('shop'), reason: 'moved to another team' })]);

/** One incident's stream, built event by event. */
function incident(error = TYPE_ERROR) {
  const s = testStream(`incident-${INCIDENT}`);
  const sample = () => s.event('ErrorRecorded', { exception: error, frames: FRAMES, tags: {}, release: RELEASE, receivedAt: '2026-01-01T00:00:00.000Z' });
  const opened = s.event('IncidentOpened', { incidentId: incidentIdSchema.parse(INCIDENT), service: serviceNameSchema.parse('shop'), fingerprint: 'f', exception: error, release: RELEASE, firstSeen: '2026-01-01T00:00:00.000Z' });
  const first = sample();
  return {
    opened,
    first,
    sample,
    diagnosed: () => s.event('DiagnosisMade', { rootCause: 'price is undefined', location: { file: 'src/cart.ts', line: 5 }, source: 'rule', ruleId: 'undefined-property-read', confidence: 0.8, commit: RELEASE }),
    /** A round that ended in production: P proposed, validated, rolled back, and the deployer's request to diagnose again. */
    rolledBack: (patchId: typeof P1, excluded: (typeof P1)[]) => [
      s.event('PatchProposed', { patchId, diff: `--- a/src/cart.ts\n+++ b/src/cart.ts\n@@ -5 +5 @@\n-  return price.amount * qty;\n+  return (price?.amount ?? ${excluded.length}) * qty;\n`, files: ['src/cart.ts'], rationale: 'r', source: 'template', templateId: 'optional-chaining', rank: 1, confidence: 0.8, baseCommit: RELEASE }),
      s.event('PatchValidated', { patchId, tests: [], durationMs: 1 } as never),
      s.event('RolledBack', { patchId, reason: 'canary slower', stage: 5, cause: 'latency-regression' }),
      s.event('DiagnosisRequested', { reason: `patch ${patchId} was rolled back at 5%`, step: 'rollout', excludePatchIds: excluded }),
    ],
    reopened: () => s.event('IncidentReopened', { reason: 'seen again', release: RELEASE } as never),
    resolved: () => s.event('IncidentResolved', { resolution: 'manual' } as never),
  };
}

async function analysed(error = TYPE_ERROR): Promise<CodeFacts> {
  const analysis: Analysis = await analyseError({ errorType: error.type, message: error.value, frames: FRAMES, read: async (path) => (path === 'src/cart.ts' ? CART : undefined) });
  return { kind: 'analysed', repository: '/repos/shop', commit: RELEASE, analysis, patterns: [] };
}

const command = (trigger: DiagnosisTrigger, extra: Partial<DiagnoseCommand> = {}): DiagnoseCommand => ({ trigger, maxRollbackRounds: 3, service: SHOP, llm: LLM, ...extra });
const firstSample = (e: RecordedEvent) => ({ kind: 'first-sample', sampleId: e.eventId }) as const;
const rollback = (e: RecordedEvent | undefined) => ({ kind: 'rollback', requestId: e!.eventId }) as const;
const spec = deciderSpec({ fold: incidentFold, decide: decideDiagnosis });

describe('the analyzer decides', () => {
  let typeError: CodeFacts;
  let weird: CodeFacts;
  beforeAll(async () => {
    typeError = await analysed();
    weird = await analysed(WEIRD);
  });

  describe('the first diagnosis, once per incident', () => {
    it('given an incident\'s first sample, when it arrives, then the code at the incident\'s release is read', () => {
      const i = incident();
      spec.given([i.opened, i.first]).when(command(firstSample(i.first))).thenMatches({ kind: 'read-code', sample: { eventId: i.first.eventId }, repository: '/repos/shop', ref: RELEASE });
    });

    it('given the code, then one DiagnosisMade from the rule catalog, nothing else', () => {
      const i = incident();
      const decision = spec.given([i.opened, i.first]).when(command(firstSample(i.first), { code: typeError })).decision();
      expect(decision).toMatchObject({ kind: 'append', events: [{ type: 'DiagnosisMade', data: { source: 'rule', ruleId: 'undefined-property-read', commit: RELEASE, location: { file: 'src/cart.ts' } } }] });
      expect(decision.kind === 'append' && decision.events).toHaveLength(1);
    });

    it('given a second sample arrived, when it is delivered, then it is not diagnosed: only the first sample is', () => {
      const i = incident();
      const second = i.sample();
      spec.given([i.opened, i.first, second]).when(command(firstSample(second))).then({ kind: 'ignore', because: expect.stringMatching(/only the first sample is diagnosed/) });
    });

    it('given the incident is diagnosed, when the first sample is delivered again, then nothing is appended', () => {
      const i = incident();
      spec.given([i.opened, i.first, i.diagnosed()]).when(command(firstSample(i.first))).then({ kind: 'ignore', because: expect.stringMatching(/already diagnosed/) });
    });

    it('given the incident was reopened, then the first sample since is diagnosed, and no earlier one', () => {
      const i = incident();
      const given = [i.opened, i.first, i.diagnosed(), i.resolved(), i.reopened()];
      const next = i.sample();
      spec.given([...given, next]).when(command(firstSample(next))).thenMatches({ kind: 'read-code', sample: { eventId: next.eventId } });
      spec.given([...given, next]).when(command(firstSample(i.first))).thenMatches({ kind: 'ignore' });
    });

    it('given the code has no in-app frame in the repository, then a failed diagnosis, escalated with the reason', () => {
      const i = incident();
      const nowhere: CodeFacts = { ...typeError, kind: 'analysed', analysis: { match: undefined, matches: [], localisation: { sites: [], evidence: [], notes: ['src/cart.ts is not in the repository'] } } as unknown as Analysis };
      spec.given([i.opened, i.first]).when(command(firstSample(i.first), { code: nowhere })).thenMatches({
        kind: 'append',
        events: [{ type: 'DiagnosisFailed', data: { reason: expect.stringMatching(/^no in-app frame of the stack exists in \/repos\/shop/) } }, { type: 'IncidentEscalated', data: { step: 'diagnosis', reason: expect.stringMatching(/^no diagnosis: /) } }],
      });
    });
    it('given the crash frame is in a minified bundle that git does not track and no source map leads back from, then the failure says so and what to configure', async () => {
      const i = incident();
      const frames = [{ filename: '/srv/app/dist/cart.min.js', function: 'n', lineno: 1, colno: 18211, contextLine: '{snip} n(e,t){return r.get(e).amount*t}function o( {snip}', inApp: true }];
      const analysis = await analyseError({ errorType: TYPE_ERROR.type, message: TYPE_ERROR.value, frames, read: async (path) => (path === 'src/cart.ts' ? CART : undefined) });
      const code: CodeFacts = { kind: 'analysed', repository: '/repos/shop', commit: RELEASE, analysis, patterns: [] };
      spec.given([i.opened, i.first]).when(command(firstSample(i.first), { code })).thenMatches({
        kind: 'append',
        events: [
          {
            type: 'DiagnosisFailed',
            data: {
              reason: expect.stringMatching(
                /^no in-app frame of the stack could be traced to its source in \/repos\/shop at a1b2c3d4e5f6: dist\/cart\.min\.js is a minified bundle without source maps \(line 1, column 18211\) and is not in the repository: .*the registration's `sourceMaps`/,
              ),
            },
          },
          { type: 'IncidentEscalated', data: { step: 'diagnosis' } },
        ],
      });
    });
  });

  describe('a deregistered service', () => {
    it('given the service was deregistered, when its report arrives, then it is not diagnosed, and says why', () => {
      const i = incident();
      spec.given([i.opened, i.first]).when(command(firstSample(i.first), { service: DEREGISTERED })).then({ kind: 'ignore', because: expect.stringMatching(/^service shop was deregistered \(moved to another team\)/) });
    });

    it('given the service was deregistered, when a rollback asks again, then it is not diagnosed either', () => {
      const i = incident();
      const round = i.rolledBack(P1, [P1]);
      spec.given([i.opened, i.first, i.diagnosed(), ...round]).when(command(rollback(round.at(-1)), { service: DEREGISTERED })).thenMatches({ kind: 'ignore', because: expect.stringMatching(/was deregistered/) });
    });

    it('given the service was never registered, then the diagnosis fails (there is no repository), escalated', () => {
      const i = incident();
      spec.given([i.opened, i.first]).when(command(firstSample(i.first), { service: serviceFold.initialState() })).thenMatches({ kind: 'append', events: [{ type: 'DiagnosisFailed', data: { reason: expect.stringMatching(/service shop is not registered.*no repository/) } }, { type: 'IncidentEscalated' }] });
    });
  });

  describe('diagnosing again after a rollback', () => {
    it('given a rollback of patch P, when diagnosed again, then P is excluded: the model is told what P changed and why it failed', () => {
      const i = incident(WEIRD);
      const round = i.rolledBack(P1, [P1]);
      const decision = spec.given([i.opened, i.first, i.diagnosed(), ...round]).when(command(rollback(round.at(-1)), { code: weird })).decision();
      expect(decision).toMatchObject({ kind: 'ask-model', request: { step: 'diagnosis', service: 'shop', route: { tier: 'small' }, budgets: BUDGETS, incidentSpentUsd: 0 } });
      const prompt = decision.kind === 'ask-model' ? decision.request.messages.map((m) => m.content).join('\n') : '';
      expect(prompt).toContain('failedFixes');
      expect(prompt).toContain('price?.amount ?? 1');
      expect(prompt).toContain('rolled back at 5% (latency-regression): canary slower');
    });

    it('given a rollback of patch P and the model\'s answer, then the new diagnosis is metered and notes that P is excluded', () => {
      const i = incident(WEIRD);
      const round = i.rolledBack(P1, [P1]);
      const reply: ModelReply = {
        kind: 'called',
        result: { tier: 'small', model: 'cheap', content: JSON.stringify({ rootCause: 'the flux is read before sync()', file: 'src/cart.ts', line: 4, confidence: 0.6 }), promptTokens: 400, completionTokens: 40, costUsd: 0.00026 },
        metered: { model: 'cheap', tier: 'small', step: 'diagnosis', promptTokens: 400, completionTokens: 40, costUsd: 0.00026 },
      };
      spec.given([i.opened, i.first, i.diagnosed(), ...round]).when(command(rollback(round.at(-1)), { code: weird, reply })).thenMatches({
        kind: 'append',
        events: [
          { type: 'LlmCallMetered', data: { step: 'diagnosis', costUsd: 0.00026 } },
          { type: 'DiagnosisMade', data: { source: 'llm', model: 'cheap', location: { file: 'src/cart.ts', line: 4 }, notes: expect.arrayContaining([`diagnosed again after a rollback (round 1 of at most 3): patch ${P1.slice(0, 8)} excluded`]) } },
        ],
      });
    });

    it('given the rule still matches, then the same sample is diagnosed again by the rule, noting the excluded patch', () => {
      const i = incident();
      const round = i.rolledBack(P1, [P1]);
      spec.given([i.opened, i.first, i.diagnosed(), ...round]).when(command(rollback(round.at(-1)), { code: typeError })).thenMatches({
        kind: 'append',
        events: [{ type: 'DiagnosisMade', data: { source: 'rule', notes: expect.arrayContaining([`diagnosed again after a rollback (round 1 of at most 3): patch ${P1.slice(0, 8)} excluded`]) } }],
      });
    });

    it('given the request is answered, when it is delivered again, then nothing is appended; a later request supersedes it', () => {
      const i = incident();
      const r1 = i.rolledBack(P1, [P1]);
      const again = i.diagnosed();
      spec.given([i.opened, i.first, i.diagnosed(), ...r1, again]).when(command(rollback(r1.at(-1)))).then({ kind: 'ignore', because: expect.stringMatching(/already answered/) });
      const r2 = i.rolledBack(P2, [P1, P2]);
      spec.given([i.opened, i.first, i.diagnosed(), ...r1, again, ...r2]).when(command(rollback(r1.at(-1)))).then({ kind: 'ignore', because: expect.stringMatching(/superseded/) });
    });

    it('given rounds beyond the bound, when the next rollback asks again, then the incident is escalated naming every failed patch, with no new diagnosis', () => {
      const i = incident();
      const r1 = i.rolledBack(P1, [P1]);
      const r2 = i.rolledBack(P2, [P1, P2]);
      spec
        .given([i.opened, i.first, i.diagnosed(), ...r1, i.diagnosed(), ...r2])
        .when(command(rollback(r2.at(-1)), { maxRollbackRounds: 1 }))
        .then({
          kind: 'append',
          events: [
            {
              type: 'IncidentEscalated',
              data: {
                step: 'diagnosis',
                reason: `patches ${P1.slice(0, 8)}, ${P2.slice(0, 8)} failed in production (patch ${P2} was rolled back at 5%); it already went back to diagnosis 1 time, the most allowed (ANTIBODY_MAX_ROLLBACK_ROUNDS=1): a person decides the next step`,
              },
            },
          ],
        });
    });

    it('given the bound is 0, then the first rollback is escalated at once, saying re-diagnosis is off', () => {
      const i = incident();
      const r1 = i.rolledBack(P1, [P1]);
      spec.given([i.opened, i.first, i.diagnosed(), ...r1]).when(command(rollback(r1.at(-1)), { maxRollbackRounds: 0 })).thenMatches({
        kind: 'append',
        events: [{ type: 'IncidentEscalated', data: { reason: expect.stringMatching(/re-diagnosis after a rollback is off \(ANTIBODY_MAX_ROLLBACK_ROUNDS=0\)/) } }],
      });
    });

    it('given the incident was reopened, then rounds count again from the reopening', () => {
      const i = incident();
      const given = [i.opened, i.first, i.diagnosed(), ...i.rolledBack(P1, [P1]), i.diagnosed(), i.resolved(), i.reopened(), i.sample(), i.diagnosed()];
      const r = i.rolledBack(P2, [P1, P2]);
      spec.given([...given, ...r]).when(command(rollback(r.at(-1)), { maxRollbackRounds: 1 })).thenMatches({ kind: 'read-code' });
    });

    it('given no recorded sample, then the diagnosis fails, escalated with the reason', () => {
      const i = incident();
      const r1 = i.rolledBack(P1, [P1]);
      spec.given([i.opened, ...r1]).when(command(rollback(r1.at(-1)))).thenMatches({
        kind: 'append',
        events: [{ type: 'DiagnosisFailed' }, { type: 'IncidentEscalated', data: { reason: expect.stringMatching(/^no diagnosis: patch 1a2b3c4d failed in production .*no recorded error sample/) } }],
      });
    });

    it('given a request the stream does not hold (read too early), then deciding throws a typed error, so the delivery is retried', () => {
      const i = incident();
      spec.given([i.opened, i.first]).when(command({ kind: 'rollback', requestId: 'not-there' })).thenThrows(DiagnosisError);
    });
  });

  describe('the model tier', () => {
    it('given no rule or pattern matches, then the model is asked, with the spend already metered on the incident', () => {
      const i = incident(WEIRD);
      spec.given([i.opened, i.first]).when(command(firstSample(i.first), { code: weird })).thenMatches({ kind: 'ask-model', request: { step: 'diagnosis', incidentSpentUsd: 0 } });
    });

    it('given a budget refused the call, then the diagnosis fails and the escalation names the budget (budgetExceeded)', () => {
      const i = incident(WEIRD);
      const reply: ModelReply = { kind: 'refused', reason: 'the daily LLM budget would be exceeded (spent $4.9900 of $5.00, next call up to $0.0100); no small tier call was made', budgetExceeded: { scope: 'daily', limitUsd: 5, spentUsd: 4.99 } };
      spec.given([i.opened, i.first]).when(command(firstSample(i.first), { code: weird, reply })).then({
        kind: 'append',
        events: [
          { type: 'DiagnosisFailed', data: { reason: `no rule or learned pattern matches WeirdError: flux out of sync; ${reply.reason}` } },
          { type: 'IncidentEscalated', data: { reason: `no diagnosis: no rule or learned pattern matches WeirdError: flux out of sync; ${reply.reason}`, step: 'diagnosis', budgetExceeded: { scope: 'daily', limitUsd: 5, spentUsd: 4.99 } } },
        ],
      });
    });

    it('given no tier is configured, then the diagnosis fails at once, without asking', () => {
      const i = incident(WEIRD);
      spec.given([i.opened, i.first]).when(command(firstSample(i.first), { code: weird, llm: { tiers: {}, prices: {} } })).thenMatches({ kind: 'append', events: [{ type: 'DiagnosisFailed', data: { reason: expect.stringMatching(/the LLM tier is off/) } }, { type: 'IncidentEscalated' }] });
    });

    it('given the model names a file not in the stack, then its answer is rejected, metered and failed with its cost', () => {
      const i = incident(WEIRD);
      const reply: ModelReply = {
        kind: 'called',
        result: { tier: 'small', model: 'cheap', content: JSON.stringify({ rootCause: 'x', file: 'src/other.ts', line: 1, confidence: 0.5 }), promptTokens: 1, completionTokens: 1, costUsd: 0.001 },
        metered: { model: 'cheap', tier: 'small', step: 'diagnosis', promptTokens: 1, completionTokens: 1, costUsd: 0.001 },
      };
      spec.given([i.opened, i.first]).when(command(firstSample(i.first), { code: weird, reply })).thenMatches({
        kind: 'append',
        events: [{ type: 'LlmCallMetered' }, { type: 'DiagnosisFailed', data: { reason: expect.stringMatching(/the small tier's answer was rejected: model named src\/other.ts/), costUsd: 0.001 } }, { type: 'IncidentEscalated' }],
      });
    });
  });
});
