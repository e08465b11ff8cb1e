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
//    traffic can show it: the canary judge must roll it back and send the incident back to diagnosis,
//    where it ends escalated to a person with the reason.
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { startFakeOpenAi, type FakeChatRequest, type FakeChatReply, type FakeOpenAi } from '@antibody/fix-kit/testing';
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

it('rolls back a validated but slow LLM fix on canary evidence; back at diagnosis the incident ends escalated with the reason', async () => {
  // The team merges the first fix (a person's step), so the next fix builds on it.
  const merged = loop.store.readAll({ limit: 100_000 }).then(({ events }) => events.find((e) => e.type === 'FixCommitted')?.data as { branch: string });
  git('merge', '--ff-only', '--quiet', (await merged).branch);
  git('push', '--quiet', 'origin', 'main');
  const bug = bugById('empty-cart');
  const since = BigInt((await loop.store.readAll({ limit: 100_000 })).events.at(-1)?.globalPosition ?? 0);
  const tripped = await loop.trip(bug);
  expect(tripped.status).toBe(500);
  const opened = await loop.incidentFor(bug, Date.now() + 60_000, since);
  // Bounded wait for the judge: the rollout must end in RolledBack, followed by DiagnosisRequested.
  let events = (await loop.store.readStream(opened.streamId)).events;
  await waitFor(
    async () => {
      events = (await loop.store.readStream(opened.streamId)).events;
      return events.some((e) => ['RolloutCompleted', 'IncidentEscalated'].includes(e.type));
    },
    { timeoutMs: 180_000, description: `the rollback of the slow fix (${lines.slice(-5).join(' | ')})` },
  );
  for (const l of progressLines(events)) lines.push(l.text);
  const proposed = events.find((e) => e.type === 'PatchProposed')?.data as { patchId: string; source: string; model: string };
  expect(proposed.source).toBe('llm');
  expect(model.requests.length).toBeGreaterThan(0);
  expect(types(events)).toEqual(expect.arrayContaining(['LlmCallMetered', 'PatchValidated', 'FixCommitted', 'RolloutStarted', 'RolledBack', 'DiagnosisRequested']));
  expect(types(events)).not.toContain('RolloutCompleted');
  const rolledBack = events.find((e) => e.type === 'RolledBack')?.data as { patchId: string; cause: string; evidence: { logEValue?: { latency: number } } };
  expect(rolledBack.patchId).toBe(proposed.patchId);
  expect(rolledBack.cause).toBe('latency-regression');
  const requested = events.find((e) => e.type === 'DiagnosisRequested')?.data as { excludePatchIds: string[]; step: string };
  expect(requested).toMatchObject({ step: 'rollout', excludePatchIds: [proposed.patchId] });

  // The analyzer answers the request for a new diagnosis: the same error would get the same
  // diagnosis, so the incident ends escalated to a person, naming the rolled-back patch and why.
  const escalated = events.filter((e) => e.type === 'IncidentEscalated');
  expect(escalated).toHaveLength(1);
  expect(types(events).indexOf('IncidentEscalated')).toBeGreaterThan(types(events).indexOf('DiagnosisRequested'));
  const reason = (escalated[0]?.data as { reason: string; step: string }).reason;
  expect(reason).toContain(`patch ${proposed.patchId.slice(0, 8)}`);
  expect(reason).toMatch(/rolled back at \d+%: .*\(latency-regression\)/);
  expect(loopOutcome(events)).toMatchObject({ status: 'stopped', stage: 'escalated at diagnosis' });

  // All traffic is back on the previous stable release, where the empty cart still fails.
  const status = (await (await fetch(`${loop.fleetStatusUrl}/status`)).json()) as { stableRelease: string; canaryRelease: string | null };
  expect(status.canaryRelease).toBeNull();
  expect((await send(loop.appUrl, 'POST', bug.path, bug.body)).status).toBe(500);
});
