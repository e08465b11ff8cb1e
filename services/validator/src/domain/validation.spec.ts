import { randomUUID } from 'node:crypto';
import { foldEvents, incidentIdSchema, patchIdSchema, serviceNameSchema, type EventData, type PatchId, type RecordedEvent } from '@antibody/contracts';
import { incidentFold, serviceFold, type ServiceState } from '@antibody/domain';
import { deciderSpec, testStream, type TestStream } from '@antibody/testing';
import { decideBaselineBuild, rejectionEvent, verdictEvent, type ValidationEvidence } from './steps';
import { decideValidation, type ValidatePatch } from './validation';
import { decideVerdict, type ReproductionOutcome, type RunSummary, type VerdictInput } from './verdict';
import type { TestStatus } from './test-results';

const spec = deciderSpec({ fold: incidentFold, decide: decideValidation });

const P = patchIdSchema.parse('00000000-0000-4000-8000-00000000000a');
const shop = serviceNameSchema.parse('shop');
const RELEASE = 'a1b2c3d4e5f6';
const failure = {
  exception: { type: 'TypeError', value: "Cannot read properties of undefined (reading 'reduce')" },
  frames: [{ filename: '/srv/shop/src/cart.js', function: 'total', lineno: 2, inApp: true }],
};
const registration: EventData<'ServiceRegistered'> = {
  name: shop,
  repository: { url: 'https://git.example.com/shop.git', defaultBranch: 'main' },
  commands: { install: 'npm ci', test: 'npm test' },
  language: 'javascript',
  deploy: { adapter: 'none', settings: {} },
  policy: { autoDeploy: false, allowedPaths: ['src/**'], forbiddenPaths: [], requireReproduction: true, budgets: { perIncidentUsd: 1, dailyUsd: 5, monthlyUsd: 50 } },
};

/** An incident of the shop opened at RELEASE, with one captured failure and the proposal of patch P. */
function proposedIncident(): { stream: string; s: TestStream; events: RecordedEvent[] } {
  const stream = `incident-${randomUUID()}`;
  const s = testStream(stream);
  return {
    stream,
    s,
    events: [
      s.event('IncidentOpened', { incidentId: incidentIdSchema.parse(stream.slice('incident-'.length)), service: shop, fingerprint: 'f1', exception: failure.exception, release: RELEASE, firstSeen: '2026-01-01T00:00:00.000Z' }),
      s.event('ErrorRecorded', { ...failure, tags: {}, receivedAt: '2026-01-01T00:00:00.000Z' }),
      s.event('PatchProposed', { patchId: P, diff: 'diff --git a/src/cart.js b/src/cart.js\n', files: ['src/cart.js'], rationale: 'default items to []', source: 'template', templateId: 'null-guard', rank: 1, confidence: 0.9 }),
    ],
  };
}

function serviceStream(...kinds: Array<'registered' | 'deregistered'>): ServiceState {
  const s = testStream('service-shop');
  return foldEvents(
    serviceFold,
    kinds.map((kind) => (kind === 'registered' ? s.event('ServiceRegistered', registration) : s.event('ServiceDeregistered', { name: shop, reason: 'retired' }))),
  );
}

const underCare = serviceStream('registered');
const validate = (stream: string, service: ServiceState = underCare): ValidatePatch => ({ patchId: P, incidentStream: stream, service });

const evidence: ValidationEvidence = { logsRef: `validation_logs/${P}`, logs: [], durationMs: 1200 };
const tests = (...results: Array<[string, TestStatus]>) => ({ source: 'tap' as const, tests: results.map(([name, status]) => ({ name, status, durationMs: 5 })) });
const run = (results: Array<[string, TestStatus]>, exitCode = results.some(([, s]) => s === 'failed') ? 1 : 0): RunSummary => ({ results: tests(...results), exitCode, timedOut: false, violations: [] });
const reproduction = (baseline: TestStatus, patched: TestStatus): ReproductionOutcome => ({
  kind: 'built',
  testFile: 'test/antibody-repro-0000000a.test.js',
  testName: 'antibody reproduction: TypeError in total',
  diff: '+++ b/test/antibody-repro-0000000a.test.js\n',
  baseline,
  patched,
});

/** The command once the validation ran and its runs were decided on (`decideVerdict`). */
function validated(stream: string, input: Partial<VerdictInput>, patchId: PatchId = P): ValidatePatch & { verdict: ReturnType<typeof verdictEvent> } {
  const verdict = decideVerdict({ baseline: run([['a', 'passed']]), patched: run([['a', 'passed']]), reruns: [], reproduction: reproduction('failed', 'passed'), call: { plan: { kind: 'none', reason: 'the report names no call.' } }, allowedErrors: [], risks: [], ...input });
  return { ...validate(stream), verdict: verdictEvent(patchId, verdict, evidence) };
}

describe('the validator decides one verdict per proposed patch', () => {
  it('given a proposal already judged, when validated again, then it is ignored', () => {
    const { stream, s, events } = proposedIncident();
    const verdict = s.event('PatchRejected', { patchId: P, reason: 'The build fails with the patch.', failingTests: [], stage: 'build' });
    spec.given([...events, verdict]).when(validate(stream)).then({ kind: 'ignore', because: `patch ${P} already has a verdict (PatchRejected)` });
    // And a verdict that arrived while the validation ran wins over the one it produced.
    spec.given([...events, verdict]).when(validated(stream, {})).then({ kind: 'ignore', because: `patch ${P} already has a verdict (PatchRejected)` });
  });

  it('given a proposal not yet judged of a service under care, then the validation runs on its diff, at the release the incident was opened with, reproducing the latest captured failure', () => {
    const { stream, events } = proposedIncident();
    spec
      .given(events)
      .when(validate(stream))
      .then({
        kind: 'validate',
        request: {
          patchId: P,
          diff: 'diff --git a/src/cart.js b/src/cart.js\n',
          service: { repository: registration.repository, commands: registration.commands, policy: registration.policy },
          release: RELEASE,
          failure,
        },
      });
  });

  it("given a deregistered service, when its patch is proposed, then it is not validated: rejected at prepare, saying the service is no longer under care", () => {
    const { stream, events } = proposedIncident();
    spec
      .given(events)
      .when(validate(stream, serviceStream('registered', 'deregistered')))
      .then({
        kind: 'append',
        events: [{ type: 'PatchRejected', data: { patchId: P, reason: 'The service shop was deregistered (retired): it is no longer under care.', failingTests: [], stage: 'prepare' } }],
      });
  });

  it('given a service never registered, then its patch is rejected at prepare', () => {
    const { stream, events } = proposedIncident();
    spec
      .given(events)
      .when(validate(stream, serviceStream()))
      .thenMatches({ kind: 'append', events: [{ type: 'PatchRejected', data: { stage: 'prepare', reason: 'The service shop is not registered (no ServiceRegistered event in service-shop).' } }] });
  });

  it('given a service registered again after its deregistration, then its patch is validated', () => {
    const { stream, events } = proposedIncident();
    spec.given(events).when(validate(stream, serviceStream('registered', 'deregistered', 'registered'))).thenMatches({ kind: 'validate' });
  });

  it('given an incident stream without IncidentOpened, then the patch is rejected at prepare (service and release unknown)', () => {
    const { stream, events } = proposedIncident();
    spec
      .given(events.filter((e) => e.type !== 'IncidentOpened'))
      .when(validate(stream))
      .thenMatches({ kind: 'append', events: [{ type: 'PatchRejected', data: { stage: 'prepare', reason: `The incident stream ${stream} has no IncidentOpened event, so the service and release are unknown.` } }] });
  });

  it('given no proposal of the patch in the incident, then nothing is decided', () => {
    const { stream, events } = proposedIncident();
    spec.given(events.filter((e) => e.type !== 'PatchProposed')).when(validate(stream)).then({ kind: 'ignore', because: `the incident holds no proposal of patch ${P}` });
  });
});

describe('what the validation runs mean for the verdict', () => {
  it("given a baseline on which no test passes, when validated, then the patch is rejected at baseline (not the change's fault)", () => {
    const { stream, events } = proposedIncident();
    spec
      .given(events)
      .when(validated(stream, { baseline: run([['a', 'failed']]), patched: run([['a', 'passed']]) }))
      .thenMatches({ kind: 'append', events: [{ type: 'PatchRejected', data: { patchId: P, stage: 'baseline', reason: expect.stringContaining('No test passes on the unpatched baseline'), failingTests: [] } }] });
  });

  it('given a baseline build that fails, then the patch is rejected at baseline, before any patched run', () => {
    const { stream, events } = proposedIncident();
    const rejection = decideBaselineBuild(run([], 2));
    expect(rejection).toBeDefined();
    if (!rejection) return;
    spec
      .given(events)
      .when({ ...validate(stream), verdict: rejectionEvent(P, rejection, evidence) })
      .thenMatches({ kind: 'append', events: [{ type: 'PatchRejected', data: { stage: 'baseline', reason: expect.stringContaining('The build command fails on the unpatched release (exit code 2') } }] });
  });

  it('given tests that fail only on the patched tree, in every run, then the patch is rejected at tests naming them', () => {
    const { stream, events } = proposedIncident();
    const patched = run([['total sums prices', 'passed'], ['count counts items', 'failed']]);
    spec
      .given(events)
      .when(validated(stream, { baseline: run([['total sums prices', 'passed'], ['count counts items', 'passed']]), patched, reruns: [patched, patched] }))
      .thenMatches({
        kind: 'append',
        events: [{ type: 'PatchRejected', data: { stage: 'tests', failingTests: ['count counts items'], reason: '1 test that passed on the baseline fails with the patch in all 3 runs: "count counts items".' } }],
      });
  });

  it('given a test that fails with the patch and passes on a re-run, then it is flaky, not blamed on the patch', () => {
    const { stream, events } = proposedIncident();
    spec
      .given(events)
      .when(validated(stream, { baseline: run([['a', 'passed'], ['b', 'passed']]), patched: run([['a', 'passed'], ['b', 'failed']]), reruns: [run([['a', 'passed'], ['b', 'passed']])] }))
      .thenMatches({ kind: 'append', events: [{ type: 'PatchValidated', data: { flakyTests: ['b'], counts: { total: 2, passed: 1, failed: 0, skipped: 0, flaky: 1 } } }] });
  });

  it('given the captured failure reproduced on the baseline and gone on the patched tree, then validated with reproduction "reproduced"', () => {
    const { stream, events } = proposedIncident();
    spec
      .given(events)
      .when(validated(stream, { reproduction: reproduction('failed', 'passed') }))
      .thenMatches({
        kind: 'append',
        events: [{ type: 'PatchValidated', data: { patchId: P, reproduction: { status: 'reproduced', testFile: 'test/antibody-repro-0000000a.test.js' }, logsRef: `validation_logs/${P}` } }],
      });
  });

  it('given the reproduction still failing with the patch, then rejected at reproduction, naming it', () => {
    const { stream, events } = proposedIncident();
    spec
      .given(events)
      .when(validated(stream, { reproduction: reproduction('failed', 'failed') }))
      .thenMatches({ kind: 'append', events: [{ type: 'PatchRejected', data: { stage: 'reproduction', failingTests: ['antibody reproduction: TypeError in total'] } }] });
  });

  it('given a reproduction that passes on the baseline too and no call to make again, then the patch is unproven, never validated, whatever the suite says', () => {
    const { stream, events } = proposedIncident();
    spec
      .given(events)
      .when(validated(stream, { reproduction: reproduction('passed', 'passed') }))
      .thenMatches({
        kind: 'append',
        events: [{ type: 'PatchUnproven', data: { patchId: P, reason: expect.stringMatching(/^Nothing shows that the patch heals the captured failure\. No call could be made again: the report names no call\. The generated test/), reproduction: { status: 'not-reproduced' } } }],
      });
  });

  const thrown = (line: number, type = 'TypeError', message = failure.exception.value) => ({ outcome: 'threw' as const, type, message, frames: [{ file: 'src/cart.js', line, function: 'total' }], candidate: 0 });
  const call = (patched: VerdictInput['call']['patched'], baseline: VerdictInput['call']['baseline'] = thrown(2)): VerdictInput['call'] => ({
    plan: { kind: 'planned', prefer: 'require', candidates: [{ module: { kind: 'file', path: 'src/cart.js' }, export: 'total', construct: false, input: 'request', args: [{}] }] },
    captured: { type: failure.exception.type, message: failure.exception.value, frame: { file: '/srv/shop/src/cart.js', line: 2, function: 'total' } },
    baseline,
    ...(patched ? { patched } : {}),
  });

  it('given the captured call throwing at its frame on the baseline and returning with the patch, then validated, the call recorded, even without a generated test', () => {
    const { stream, events } = proposedIncident();
    spec
      .given(events)
      .when(validated(stream, { reproduction: { kind: 'none', reason: 'no framework.' }, call: call({ outcome: 'returned', candidate: 0 }) }))
      .thenMatches({
        kind: 'append',
        events: [
          {
            type: 'PatchValidated',
            data: {
              reproduction: {
                status: 'reproduced',
                reason: expect.stringContaining('returns normally with the patch'),
                call: { module: 'src/cart.js', export: 'total', input: 'request', baseline: { outcome: 'threw', type: 'TypeError', frame: 'src/cart.js:2 in total' }, patched: { outcome: 'returned' } },
              },
            },
          },
        ],
      });
  });

  it('given the captured call still throwing with the patch, even though the generated test passes, then rejected at reproduction', () => {
    const { stream, events } = proposedIncident();
    spec
      .given(events)
      .when(validated(stream, { call: call(thrown(4)) }))
      .thenMatches({ kind: 'append', events: [{ type: 'PatchRejected', data: { stage: 'reproduction', reason: expect.stringMatching(/^The patch does not heal the captured failure: .*still throws it with the patch/) } }] });
  });

  it('given the captured call returning on the baseline, then unproven, even when every test passes', () => {
    const { stream, events } = proposedIncident();
    spec
      .given(events)
      .when(validated(stream, { reproduction: { kind: 'none', reason: 'no framework.' }, call: call(undefined, { outcome: 'returned', candidate: 0 }) }))
      .thenMatches({ kind: 'append', events: [{ type: 'PatchUnproven', data: { reason: expect.stringContaining('returned normally on the unpatched baseline') } }] });
  });
});
