// The whole loop, headless, with the demo's orchestration (tools/demo/src/loop.ts): the five
// services and the sample application's fleet as real processes (compiled dist/: `npm test`
// builds first), real traffic through the fleet's proxy, a real git repository. Store-log
// transport (no NATS) so the spec is isolated in its own schema.
//
// 1. A template-fixable bug (pickup order without an address) is healed: RolloutCompleted, the fix
//    commit and its regression test on antibody/<incident>, the input no longer errors, one trace
//    spans every service, `antibody verify --all` passes.
// 2. A bug only the LLM tier can fix (empty cart: reduce() without an initial value). The model is
//    the only thing faked — a local server speaking the OpenAI wire protocol, driven through the
//    real SDK — and its scripted answer stops the crash but makes every quote slow (a synchronous
//    wait). The application's tests do not time anything, so validation passes; only production
//    traffic can show it: the canary judge must roll it back and send the incident back to diagnosis.
//    The analyzer diagnoses it again; the patcher, with no template for this rule, asks the model
//    again, telling it which change failed and why. This scripted model knows only the one fix and
//    answers it again, so the patcher refuses to repeat it: the incident ends escalated at the
//    patch step, naming the rolled-back patch.
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { startFakeOpenAi, type FakeChatRequest, type FakeChatReply, type FakeOpenAi } from '@antibody/fix-io/testing';
import { testDatabaseUrl, waitFor } from '@antibody/testing';
import { heal, startLoop, type Loop } from '../src/loop';
import { loopOutcome, progressLines } from '../src/progress';
import { servicesInTrace, traceIdOf } from '../src/trace';
import { bugById, send, trip } from '../src/traffic';

const ROOT = join(__dirname, '..', '..', '..');
jest.setTimeout(300_000);

let loop: Loop;
let model: FakeOpenAi;
const lines: string[] = [];

/** The scripted model: reduce() gets its initial value, plus a synchronous 300 ms wait per quote. */
const slowFix = (request: FakeChatRequest): FakeChatReply => {
  const user = JSON.parse(request.messages.find((m) => m.role === 'user')?.content ?? '{}') as { code?: { path: string; text: string }[] };
  const site = user.code?.find((c) => c.text.includes('.reduce((sum, cents) => sum + cents);'));
  if (!site) return { content: JSON.stringify({ rootCause: 'unknown', rationale: 'no site', confidence: 0.1, edits: [] }) };
  return {
    content: JSON.stringify({
      rootCause: 'reduce() without an initial value throws on an empty cart',
      rationale: 'Give reduce an initial value of 0 and re-price the cart from the catalogue.',
      confidence: 0.7,
      edits: [{ file: site.path, find: '.reduce((sum, cents) => sum + cents);', replace: '.reduce((sum, cents) => sum + cents, 0);\n  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 300);' }],
    }),
    promptTokens: 900,
    completionTokens: 120,
  };
};

beforeAll(async () => {
  model = await startFakeOpenAi(slowFix);
  loop = await startLoop({
    root: ROOT,
    log: (line) => lines.push(line),
    databaseUrl: testDatabaseUrl(),
    natsUrl: null,
    keepWorkDir: false,
    serviceEnv: {
      LOG_LEVEL: 'warn',
      ANTIBODY_LLM_SMALL_BASE_URL: model.baseUrl,
      ANTIBODY_LLM_SMALL_API_KEY: 'test-key',
      ANTIBODY_LLM_SMALL_MODEL: 'small-model',
      ANTIBODY_LLM_LARGE_BASE_URL: model.baseUrl,
      ANTIBODY_LLM_LARGE_API_KEY: 'test-key',
      ANTIBODY_LLM_LARGE_MODEL: 'large-model',
      ANTIBODY_LLM_PRICES: JSON.stringify({ 'small-model': { inputPerMTok: 0.15, outputPerMTok: 0.6 }, 'large-model': { inputPerMTok: 2.5, outputPerMTok: 10 } }),
    },
  });
});

afterAll(async () => {
  await loop?.stop();
  await model?.close();
});

const git = (...args: string[]) => execFileSync('git', ['-C', loop.repoDir, ...args], { encoding: 'utf8' }).trim();
const types = (events: readonly { type: string }[]) => events.map((e) => e.type);

it('heals a template-fixable bug end to end: rolled out, committed with its regression test, the input no longer errors, one trace, verified chains', async () => {
  const bug = bugById('pickup-without-address');
  const result = await heal(loop, bug, { deadline: Date.now() + 150_000, onLine: (l) => lines.push(l.text) });
  expect(result.tripped.status).toBe(500);
  if (result.outcome.status !== 'healed') throw new Error(`not healed: ${JSON.stringify(result.outcome)}\n${lines.join('\n')}\n${loop.processes.list().map((p) => `${p.name}: ${p.output().slice(-1500)}`).join('\n')}`);
  const { events } = result;
  expect(types(events)).toEqual(expect.arrayContaining(['IncidentOpened', 'ErrorRecorded', 'DiagnosisMade', 'PatchProposed', 'PatchValidated', 'FixCommitted', 'RolloutStarted', 'StageAdvanced', 'RolloutCompleted', 'IncidentResolved']));
  const completed = events.find((e) => e.type === 'RolloutCompleted')?.data as { patchId: string; release: string };
  // Exactly one fix: one commit, one rollout, for the patch that completed.
  expect(events.filter((e) => e.type === 'FixCommitted').map((e) => (e.data as { patchId: string }).patchId)).toEqual([completed.patchId]);
  expect(events.filter((e) => e.type === 'RolloutStarted')).toHaveLength(1);

  // The repository: the fix commit on antibody/<incident>, with the regression test, pushed to origin.
  const incidentId = result.streamId.replace(/^incident-/, '');
  const fix = events.find((e) => e.type === 'FixCommitted')?.data as { branch: string; commitSha: string };
  expect(fix.branch).toBe(`antibody/${incidentId}`);
  expect(git('rev-parse', fix.branch)).toBe(fix.commitSha);
  expect(execFileSync('git', ['--git-dir', loop.originDir, 'rev-parse', fix.branch], { encoding: 'utf8' }).trim()).toBe(fix.commitSha);
  expect(git('log', '-1', '--format=%B', fix.commitSha)).toContain(`Antibody-Incident: ${incidentId}`);
  const changed = git('show', '--name-only', '--format=', fix.commitSha).split('\n');
  expect(changed).toContain('src/checkout.ts');
  const regression = changed.find((f) => /^test\/antibody-repro-.*\.test\.ts$/.test(f));
  expect(regression).toBeDefined();
  const validated = events.find((e) => e.type === 'PatchValidated' && (e.data as { patchId: string }).patchId === completed.patchId)?.data as { reproduction: { status: string } };
  expect(validated.reproduction.status).toBe('reproduced');

  // The promoted release serves the triggering input without an error.
  expect(completed.release).toBe(`checkout-api@${fix.commitSha.slice(0, 12)}`);
  const status = (await (await fetch(`${loop.fleetStatusUrl}/status`)).json()) as { stableRelease: string };
  expect(status.stableRelease).toBe(completed.release);
  const after = await trip(loop.appUrl, bug);
  expect(after.status).toBe(201);

  // One trace spans events from every service.
  const traceId = traceIdOf(events);
  expect(traceId).toBeDefined();
  expect([...servicesInTrace(events, traceId as string)].sort()).toEqual(expect.arrayContaining(['analyzer', 'deployer', 'ingest', 'patcher', 'validator']));

  // `antibody verify --all`, the real CLI.
  const verify = spawnSync(process.execPath, [join(ROOT, 'libs', 'cli', 'bin', 'antibody.js'), 'verify', '--all'], { env: loop.cliEnv, encoding: 'utf8' });
  expect(verify.stderr).toBe('');
  expect(verify.status).toBe(0);
});

it('rolls back a validated but slow LLM fix on canary evidence; diagnosed again, the same fix is refused and the incident ends escalated naming it', async () => {
  // The team merges the first fix (a person's step), so the next fix builds on it.
  const merged = loop.store.readAll({ limit: 100_000 }).then(({ events }) => events.find((e) => e.type === 'FixCommitted')?.data as { branch: string });
  git('merge', '--ff-only', '--quiet', (await merged).branch);
  git('push', '--quiet', 'origin', 'main');
  const bug = bugById('empty-cart');
  const since = BigInt((await loop.store.readAll({ limit: 100_000 })).events.at(-1)?.globalPosition ?? 0);
  const requestsBefore = model.requests.length;
  const tripped = await loop.trip(bug);
  expect(tripped.status).toBe(500);
  const opened = await loop.incidentFor(bug, Date.now() + 60_000, since);
  // Bounded wait for the judge and the second round: the rollout must end in RolledBack, the round after it in an escalation.
  let events = (await loop.store.readStream(opened.streamId)).events;
  await waitFor(
    async () => {
      events = (await loop.store.readStream(opened.streamId)).events;
      return events.some((e) => ['RolloutCompleted', 'IncidentEscalated'].includes(e.type));
    },
    { timeoutMs: 180_000, description: `the rollback of the slow fix and the second round (${lines.slice(-5).join(' | ')})` },
  );
  for (const l of progressLines(events)) lines.push(l.text);
  expect(types(events)).not.toContain('RolloutCompleted');

  // Round 1: the model's fix is validated, rolled out, and rolled back on latency.
  const requestedAt = types(events).indexOf('DiagnosisRequested');
  expect(requestedAt).toBeGreaterThan(0);
  const round1 = events.slice(0, requestedAt);
  const round2 = events.slice(requestedAt + 1);
  expect(types(round1)).toEqual(expect.arrayContaining(['DiagnosisMade', 'LlmCallMetered', 'PatchProposed', 'PatchValidated', 'FixCommitted', 'RolloutStarted', 'RolledBack']));
  const proposed = round1.find((e) => e.type === 'PatchProposed')?.data as { patchId: string; source: string; diff: string };
  expect(proposed.source).toBe('llm');
  const rolledBack = round1.find((e) => e.type === 'RolledBack')?.data as { patchId: string; cause: string; stage: number };
  expect(rolledBack.patchId).toBe(proposed.patchId);
  expect(rolledBack.cause).toBe('latency-regression');
  expect(events[requestedAt]?.data).toMatchObject({ step: 'rollout', excludePatchIds: [proposed.patchId] });

  // Round 2: the analyzer diagnoses the recorded sample again (same rule), noting the excluded patch.
  const short = proposed.patchId.slice(0, 8);
  const healing = ['DiagnosisMade', 'DiagnosisFailed', 'LlmCallMetered', 'PatchProposed', 'PatchFailed', 'PatchValidated', 'PatchRejected', 'RolloutStarted', 'IncidentEscalated'];
  expect(types(round2).filter((type) => healing.includes(type))).toEqual(['DiagnosisMade', 'LlmCallMetered', 'PatchFailed', 'IncidentEscalated']);
  const again = round2.find((e) => e.type === 'DiagnosisMade')?.data as { ruleId: string; notes: string[] };
  expect(again.ruleId).toBe((round1.find((e) => e.type === 'DiagnosisMade')?.data as { ruleId: string }).ruleId);
  expect(again.notes).toContain(`diagnosed again after a rollback (round 1 of at most 3): patch ${short} excluded`);
  // The model is asked once per round; the second time it is told which change failed and why.
  const asked = model.requests.slice(requestsBefore);
  expect(asked).toHaveLength(2);
  expect(JSON.parse(asked[0]!.messages[1]!.content)).not.toHaveProperty('failedFixes');
  const told = (JSON.parse(asked[1]!.messages[1]!.content) as { failedFixes: { diff: string; outcome: string }[] }).failedFixes;
  expect(told).toEqual([{ diff: proposed.diff, outcome: expect.stringMatching(new RegExp(`^rolled back at ${rolledBack.stage}% \\(latency-regression\\): `)) }]);
  // It answers with the same change: the patcher refuses to propose it again, and the incident ends escalated naming it.
  const escalated = events.filter((e) => e.type === 'IncidentEscalated');
  expect(escalated).toHaveLength(1);
  const { reason, step } = escalated[0]?.data as { reason: string; step: string };
  expect(step).toBe('patch');
  expect(reason).toMatch(new RegExp(`^no patch: no template of rule reduce-empty-array fits .*; the (small|large) tier's answer repeats patch ${short} \\(rolled back at ${rolledBack.stage}% \\(latency-regression\\): .*\\): the same change is not proposed again$`));
  expect(events.filter((e) => e.type === 'PatchProposed')).toHaveLength(1);
  expect(events.filter((e) => e.type === 'RolloutStarted')).toHaveLength(1);
  expect(loopOutcome(events)).toEqual({ status: 'stopped', stage: 'escalated at patch', reason });

  // All traffic is back on the previous stable release, where the empty cart still fails.
  const status = (await (await fetch(`${loop.fleetStatusUrl}/status`)).json()) as { stableRelease: string; canaryRelease: string | null };
  expect(status.canaryRelease).toBeNull();
  expect((await send(loop.appUrl, 'POST', bug.path, bug.body)).status).toBe(500);
});
