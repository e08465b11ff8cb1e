import { applyPatch } from 'diff';
import { foldEvents, incidentIdSchema, patchIdSchema, serviceNameSchema, type PatchId, type RecordedEvent } from '@antibody/contracts';
import { incidentFold, serviceFold, type ServiceState } from '@antibody/domain';
import { typeProject, type LlmSettings, type ModelReply } from '@antibody/fix-kit';
import { readTypeScriptLib } from '@antibody/fix-io';
import { deciderSpec, testStream } from '@antibody/testing';
import { decidePatch, PatchDecisionError, type PatchCommand, type SiteFacts } from './decide';
import type { PatchEvent } from './patching';

const INCIDENT = '7d9e2c1a-0000-4000-8000-00000000000b';
const COMMIT = 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678';
const OTHER_COMMIT = 'ffffffffffffffffffffffffffffffffffffffff';
const CART = `const prices = new Map([['apple', { amount: 3 }]]);

export function lineTotal(sku: string, qty: number): number {
  const price = prices.get(sku);
  return price.amount * qty;
}
`;
const ERROR = { type: 'TypeError', value: "Cannot read properties of undefined (reading 'amount')" };
const LLM: LlmSettings = { tiers: { small: { baseUrl: 'http://127.0.0.1:1/v1', apiKey: 'k', model: 'cheap' } }, prices: { cheap: { inputPerMTok: 0.5, outputPerMTok: 1.5 } } };
const BUDGETS = { perIncidentUsd: 1, dailyUsd: 5, monthlyUsd: 50 };
/** Deterministic ids: the k-th id a diagnosis may use. */
const ids = (k: number): PatchId => patchIdSchema.parse(`00000000-0000-4000-8000-${String(k).padStart(12, '0')}`);

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
const CODE: SiteFacts = { kind: 'read', commit: COMMIT, sites: [{ file: 'src/cart.ts', source: CART, line: 5, function: 'lineTotal', suspect: 'price', weight: 1 }], patterns: [] };

function incident() {
  const s = testStream(`incident-${INCIDENT}`);
  return {
    start: () => [
      s.event('IncidentOpened', { incidentId: incidentIdSchema.parse(INCIDENT), service: serviceNameSchema.parse('shop'), fingerprint: 'f', exception: ERROR, release: COMMIT, firstSeen: '2026-01-01T00:00:00.000Z' }),
      s.event('ErrorRecorded', { exception: ERROR, frames: [{ filename: '/srv/app/src/cart.ts', function: 'lineTotal', lineno: 5, inApp: true }], tags: {}, release: COMMIT, receivedAt: '2026-01-01T00:00:00.000Z' }),
    ],
    diagnosed: () => s.event('DiagnosisMade', { rootCause: 'price is undefined', location: { file: 'src/cart.ts', line: 5 }, source: 'rule', ruleId: 'undefined-property-read', errorClass: 'TypeError:undefined-property-access', captures: { prop: 'amount' }, sites: [{ file: 'src/cart.ts', line: 5, function: 'lineTotal', suspect: 'price', weight: 1 }], confidence: 0.8, commit: COMMIT }),
    proposed: (patchId: PatchId, diff: string, baseCommit = COMMIT) => s.event('PatchProposed', { patchId, diff, files: ['src/cart.ts'], rationale: 'r', source: 'template', templateId: 'optional-chaining', rank: 1, confidence: 0.8, baseCommit }),
    rejected: (patchId: PatchId) => s.event('PatchRejected', { patchId, stage: 'tests', reason: '1 test fails' } as never),
    validated: (patchId: PatchId) => s.event('PatchValidated', { patchId } as never),
    rolledBack: (patchId: PatchId) => [
      s.event('RolledBack', { patchId, reason: 'canary slower', stage: 5, cause: 'latency-regression' }),
      s.event('DiagnosisRequested', { reason: `patch ${patchId} was rolled back at 5%`, step: 'rollout', excludePatchIds: [patchId] }),
    ],
    failed: () => s.event('PatchFailed', { reason: 'no template fits' }),
  };
}

const command = (diagnosis: RecordedEvent, extra: Partial<PatchCommand> = {}): PatchCommand => ({ diagnosisId: diagnosis.eventId, service: SHOP, llm: LLM, patchIdBase: ids, code: CODE, ...extra });
const spec = deciderSpec({ fold: incidentFold, decide: decidePatch });
const proposals = (decision: ReturnType<typeof decidePatch>) => (decision.kind === 'append' ? decision.events.filter((e): e is Extract<PatchEvent, { type: 'PatchProposed' }> => e.type === 'PatchProposed') : []);

/** The template candidates of a first diagnosis of the incident, to name "the same change" in the specs. */
function firstCandidates() {
  const i = incident();
  const diagnosis = i.diagnosed();
  return proposals(spec.given([...i.start(), diagnosis]).when(command(diagnosis)).decision());
}

describe('the patcher decides', () => {
  it('given a diagnosis, when the code is not read yet, then the diagnosed sites are read at the diagnosed commit', () => {
    const i = incident();
    const diagnosis = i.diagnosed();
    spec.given([...i.start(), diagnosis]).when(command(diagnosis, { code: undefined })).thenMatches({ kind: 'read-sites', repository: '/repos/shop', commit: COMMIT, sites: [{ file: 'src/cart.ts', line: 5, suspect: 'price', weight: 1 }] });
  });

  it('given a diagnosis and its code, then ranked template candidates, with ids, the base commit and the error class', () => {
    const candidates = firstCandidates();
    expect(candidates.length).toBeGreaterThan(1);
    expect(candidates.map((c) => c.data.rank)).toEqual(candidates.map((_, i) => i + 1));
    expect(candidates[0]?.data).toMatchObject({ patchId: ids(0), source: 'template', baseCommit: COMMIT, errorClass: 'TypeError:undefined-property-access' });
  });

  it('given a rollback of patch P, when diagnosed again, then P\'s change is not proposed again and no new id is P\'s', () => {
    const [best, next] = firstCandidates();
    const i = incident();
    const first = i.diagnosed();
    const P = ids(0);
    const again = i.diagnosed();
    const decision = spec.given([...i.start(), first, i.proposed(P, best!.data.diff), i.validated(P), ...i.rolledBack(P), again]).when(command(again)).decision();
    const proposed = proposals(decision);
    expect(proposed.map((p) => p.data.diff)).not.toContain(best!.data.diff);
    expect(proposed[0]?.data.diff).toBe(next!.data.diff);
    expect(proposed.map((p) => p.data.patchId)).not.toContain(P);
    expect(proposed[0]?.data.patchId).toBe(ids(1));
  });

  it('given a change the validator rejected at the same commit, then it is not proposed again; rejected at another commit, it may be', () => {
    const [best] = firstCandidates();
    const R = patchIdSchema.parse('5e6f7a8b-0000-4000-8000-000000000002');
    const i = incident();
    const first = i.diagnosed();
    const again = i.diagnosed();
    const atSame = [...i.start(), first, i.proposed(R, best!.data.diff), i.rejected(R), ...i.rolledBack(R), again];
    expect(proposals(spec.given(atSame).when(command(again)).decision()).map((p) => p.data.diff)).not.toContain(best!.data.diff);

    const j = incident();
    const first2 = j.diagnosed();
    const S = patchIdSchema.parse('9c0d1e2f-0000-4000-8000-000000000003');
    const again2 = j.diagnosed();
    const atOther = [...j.start(), first2, j.proposed(R, best!.data.diff, OTHER_COMMIT), j.rejected(R), j.proposed(S, 'other change'), j.validated(S), ...j.rolledBack(S), again2];
    expect(proposals(spec.given(atOther).when(command(again2)).decision()).map((p) => p.data.diff)).toContain(best!.data.diff);
  });

  it('given every template candidate failed, then the model is asked, told what failed in production', () => {
    const candidates = firstCandidates();
    const i = incident();
    const events: RecordedEvent[] = [...i.start()];
    candidates.forEach((c, k) => {
      events.push(i.diagnosed(), i.proposed(ids(100 + k), c.data.diff), i.validated(ids(100 + k)), ...i.rolledBack(ids(100 + k)));
    });
    const last = i.diagnosed();
    const decision = spec.given([...events, last]).when(command(last)).decision();
    expect(decision).toMatchObject({ kind: 'ask-model', request: { step: 'patch', service: 'shop', budgets: BUDGETS } });
    const prompt = decision.kind === 'ask-model' ? decision.request.messages.map((m) => m.content).join('\n') : '';
    expect(prompt).toContain('failedFixes');
    expect(prompt).toContain('latency-regression');
  });

  it('given a budget refused the model call, then PatchFailed, escalated with budgetExceeded', () => {
    const i = incident();
    const diagnosis = i.diagnosed();
    const reply: ModelReply = { kind: 'refused', reason: 'the per-incident LLM budget would be exceeded', budgetExceeded: { scope: 'incident', limitUsd: 1, spentUsd: 0.99 } };
    const noTemplate: SiteFacts = { ...CODE, sites: [{ file: 'src/cart.ts', source: 'export const x = 1;\n', line: 1, weight: 1 }] };
    spec.given([...i.start(), diagnosis]).when(command(diagnosis, { code: noTemplate, reply })).thenMatches({
      kind: 'append',
      events: [
        { type: 'PatchFailed', data: { reason: expect.stringMatching(/; the per-incident LLM budget would be exceeded$/) } },
        { type: 'IncidentEscalated', data: { step: 'patch', reason: expect.stringMatching(/^no patch: /), budgetExceeded: { scope: 'incident', limitUsd: 1, spentUsd: 0.99 } } },
      ],
    });
  });

  it('given the model proposes a change that already failed, then it is not proposed: PatchFailed with the cost, after the metered call', () => {
    const candidates = firstCandidates();
    const i = incident();
    const events: RecordedEvent[] = [...i.start()];
    candidates.forEach((c, k) => {
      events.push(i.diagnosed(), i.proposed(ids(100 + k), c.data.diff), i.validated(ids(100 + k)), ...i.rolledBack(ids(100 + k)));
    });
    const last = i.diagnosed();
    const after = applyPatch(CART, candidates[0]!.data.diff);
    const reply: ModelReply = {
      kind: 'called',
      result: { tier: 'small', model: 'cheap', content: JSON.stringify({ rootCause: 'r', rationale: 'r', confidence: 0.5, edits: [{ file: 'src/cart.ts', find: CART, replace: after || '' }] }), promptTokens: 1, completionTokens: 1, costUsd: 0.002 },
      metered: { model: 'cheap', tier: 'small', step: 'patch', promptTokens: 1, completionTokens: 1, costUsd: 0.002 },
    };
    spec.given([...events, last]).when(command(last, { reply })).thenMatches({
      kind: 'append',
      events: [
        { type: 'LlmCallMetered', data: { step: 'patch', costUsd: 0.002 } },
        { type: 'PatchFailed', data: { reason: expect.stringMatching(/the small tier's answer repeats patch 00000000 .*the same change is not proposed again/), costUsd: 0.002 } },
        { type: 'IncidentEscalated', data: { step: 'patch' } },
      ],
    });
  });

  it('given the diagnosis is already answered (proposals or PatchFailed), then nothing is appended', () => {
    const i = incident();
    const diagnosis = i.diagnosed();
    spec.given([...i.start(), diagnosis, i.proposed(ids(0), 'd')]).when(command(diagnosis)).then({ kind: 'ignore', because: expect.stringMatching(/already answered/) });
    const j = incident();
    const d2 = j.diagnosed();
    spec.given([...j.start(), d2, j.failed()]).when(command(d2)).then({ kind: 'ignore', because: expect.stringMatching(/already answered/) });
  });

  it('given a newer round, when an older diagnosis is delivered, then it is superseded', () => {
    const i = incident();
    const old = i.diagnosed();
    spec.given([...i.start(), old, i.proposed(ids(0), 'd'), i.validated(ids(0)), ...i.rolledBack(ids(0)), i.diagnosed()]).when(command(old)).then({ kind: 'ignore', because: expect.stringMatching(/superseded by a newer round/) });
  });

  it('given the service was deregistered, when its diagnosis arrives, then it is not patched, and says why', () => {
    const i = incident();
    const diagnosis = i.diagnosed();
    spec.given([...i.start(), diagnosis]).when(command(diagnosis, { service: DEREGISTERED })).then({ kind: 'ignore', because: expect.stringMatching(/^service shop was deregistered \(moved to another team\).*not patched/) });
  });

  it('given a diagnosis the stream does not hold, then deciding throws a typed error (the delivery is retried)', () => {
    const i = incident();
    spec.given(i.start()).when({ ...command(i.diagnosed()), diagnosisId: 'elsewhere' }).thenThrows(PatchDecisionError);
  });
});

describe('the patcher type-checks every candidate before proposing it', () => {
  const STRICT = JSON.stringify({ compilerOptions: { strict: true, target: 'ES2022', module: 'commonjs' }, include: ['src'] });
  const project = (files: Record<string, string>) => typeProject({ files: new Map(Object.entries(files)), readLib: readTypeScriptLib });

  it('given a strict repository, then a candidate with a type error never becomes PatchProposed: it is dropped, with its diagnostic, on the first proposal', () => {
    const i = incident();
    const diagnosis = i.diagnosed();
    const types = project({ 'tsconfig.json': STRICT, 'src/cart.ts': CART });
    const unchecked = proposals(spec.given([...i.start(), diagnosis]).when(command(diagnosis)).decision());
    const decision = spec.given([...i.start(), diagnosis]).when(command(diagnosis, { code: { ...CODE, types } })).decision();
    const proposed = proposals(decision);
    expect(proposed.length).toBeGreaterThan(0);
    for (const p of proposed) expect(types.check([{ file: 'src/cart.ts', after: applyPatch(CART, p.data.diff) || '' }])).toEqual([]);
    // Without the check, `price?.amount * qty` was a candidate; with it, it is dropped and named.
    expect(unchecked.map((p) => p.data.templateId)).toContain('optional-chaining');
    expect(proposed.map((p) => p.data.templateId)).not.toContain('optional-chaining');
    expect(proposed[0]?.data.dropped).toEqual([
      { source: 'template', templateId: 'optional-chaining', files: ['src/cart.ts'], diagnostics: [{ file: 'src/cart.ts', line: 5, code: 18048, message: "'price.amount' is possibly 'undefined'." }] },
    ]);
    expect(proposed.slice(1).every((p) => p.data.dropped === undefined)).toBe(true);
  });

  it('given the model answers with a change that does not type-check, then PatchFailed names the diagnostic, with the cost and the dropped candidate', () => {
    const i = incident();
    const diagnosis = i.diagnosed();
    const source = 'export const total: number = 1;\n';
    const types = project({ 'tsconfig.json': STRICT, 'src/cart.ts': source });
    const noTemplate: SiteFacts = { ...CODE, sites: [{ file: 'src/cart.ts', source, line: 1, weight: 1 }], types };
    const reply: ModelReply = {
      kind: 'called',
      result: { tier: 'small', model: 'cheap', content: JSON.stringify({ rootCause: 'r', rationale: 'r', confidence: 0.5, edits: [{ file: 'src/cart.ts', find: '= 1;', replace: "= '1';" }] }), promptTokens: 1, completionTokens: 1, costUsd: 0.002 },
      metered: { model: 'cheap', tier: 'small', step: 'patch', promptTokens: 1, completionTokens: 1, costUsd: 0.002 },
    };
    const dropped = [{ source: 'llm', files: ['src/cart.ts'], diagnostics: [{ file: 'src/cart.ts', line: 1, code: 2322, message: "Type 'string' is not assignable to type 'number'." }] }];
    spec.given([...i.start(), diagnosis]).when(command(diagnosis, { code: noTemplate, reply })).thenMatches({
      kind: 'append',
      events: [
        { type: 'LlmCallMetered', data: { step: 'patch', costUsd: 0.002 } },
        { type: 'PatchFailed', data: { reason: expect.stringContaining("the small tier's answer does not type-check: llm candidate: src/cart.ts:1 TS2322 Type 'string' is not assignable to type 'number'."), costUsd: 0.002, dropped } },
        { type: 'IncidentEscalated', data: { step: 'patch' } },
      ],
    });
  });
});
