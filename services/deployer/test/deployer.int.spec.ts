// The deployer service wired end to end, in process, on a fresh schema of the real Postgres
// (store-log transport): ServiceRegistered + the incident up to PatchValidated in, and out the fix
// committed in a real git repository, the judged rollout through the webhook adapter against a
// local delivery system (which also serves the counts), approve / reject through the CLI's
// command, notifications, a rollout that survives a restart of the deployer, and the escalations
// that end an incident no step can take further (every candidate rejected, an event dead-lettered).
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import { createStoreLogBus } from '@antibody/bus';
import type { StoredEvent } from '@antibody/event-store';
import { createPlatformApp, loadConfig } from '@antibody/platform';
import { createTestStore, freePort, testMetadata, uniqueName, waitFor, type TestStore } from '@antibody/testing';
// The spec drives the real `antibody approve/reject` commands in process; the service itself never imports the CLI.
// eslint-disable-next-line @nx/enforce-module-boundaries
import { runCli } from '@antibody/cli';
import { deployerConfigSchema } from '../src/infrastructure/config';
import { DeployerModule } from '../src/infrastructure/deployer.module';
import { verifyWebhook } from '../src/infrastructure/webhook-adapter';

const FIXTURES = join(__dirname, '..', '..', '..', 'libs', 'contracts', 'fixtures');
const fixture = (type: string) => JSON.parse(readFileSync(join(FIXTURES, `${type}.v1.json`), 'utf8')) as Record<string, unknown>;
const SECRET = 'webhook-secret-for-tests';

const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', args, { cwd, encoding: 'utf8', env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' } }).trim();

const DIFF = `--- a/src/cart.js
+++ b/src/cart.js
@@ -1,3 +1,3 @@
 function total(items) {
-  return items.reduce((sum, item) => sum + item.price, 0);
+  return items.reduce((sum, item) => sum + (item.price ?? 0), 0);
 }
`;

/**
 * A stand-in for the user's delivery system: verifies the signed stage changes, applies them to its
 * traffic split, and serves cumulative counts since canary.start. Every counts read advances the
 * simulated traffic by `perRead` requests split by the current share; errors are the floor of
 * requests times each release's error rate (so counts never go backwards and the split is exact).
 */
async function deliverySystem() {
  const state = { percent: 0, perRead: 4000, canaryErrorRate: 0.01, stableErrorRate: 0.01, requests: { canary: 0, stable: 0 }, badSignatures: 0 };
  const hooks: { type: string; percent: number; release: string; reason?: string }[] = [];
  const notices: { kind: string; incidentId: string; title: string }[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const path = (req.url ?? '').split('?')[0];
      if (req.method === 'POST' && path === '/hooks') {
        const ok = verifyWebhook(SECRET, { signature: req.headers['x-antibody-signature'] as string, timestamp: req.headers['x-antibody-timestamp'] as string }, body, Math.floor(Date.now() / 1000));
        if (!ok) {
          state.badSignatures++;
          res.writeHead(401).end();
          return;
        }
        const hook = JSON.parse(body) as { type: string; percent: number; release: string; reason?: string };
        hooks.push(hook);
        if (hook.type === 'canary.start') state.requests = { canary: 0, stable: 0 };
        state.percent = hook.type === 'canary.rollback' ? 0 : hook.percent;
        res.writeHead(204).end();
        return;
      }
      if (req.method === 'GET' && path === '/counts') {
        const canary = Math.round((state.perRead * state.percent) / 100);
        state.requests.canary += canary;
        state.requests.stable += state.perRead - canary;
        const arm = (n: number, rate: number) => ({ requests: n, errors: Math.floor(n * rate), slow: 0 });
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ canary: arm(state.requests.canary, state.canaryErrorRate), stable: arm(state.requests.stable, state.stableErrorRate) }));
        return;
      }
      if (req.method === 'POST' && path === '/notify') {
        notices.push(JSON.parse(body));
        res.writeHead(200).end();
        return;
      }
      res.writeHead(404).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, state, hooks, notices, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

describe('antibody-deployer wired end to end (store-log transport)', () => {
  let t: TestStore;
  let root: string;
  let delivery: Awaited<ReturnType<typeof deliverySystem>>;
  const apps: INestApplication[] = [];

  const startDeployer = async () => {
    const port = await freePort();
    const config = loadConfig(
      deployerConfigSchema,
      {
        DATABASE_URL: t.databaseUrl,
        ANTIBODY_SCHEMA: t.schema,
        PORT: String(port),
        LOG_LEVEL: process.env.DEPLOYER_TEST_LOG_LEVEL ?? 'warn',
        SERVICE_INSTANCE_ID: `deployer-${port}`,
        DEPLOYER_MIN_DWELL_MS: '200',
        DEPLOYER_MIN_CANARY_REQUESTS: '20',
        DEPLOYER_STAGE_DEADLINE_MS: '60000',
        DEPLOYER_OBSERVE_EVERY_MS: '100',
        DEPLOYER_RESUME_SCAN_MS: '300',
        DEPLOYER_ALPHA: '0.01',
        DEPLOYER_NOTIFY_WEBHOOK_URLS: `${delivery.url}/notify`,
        DEPLOYER_NOTIFY_MAX_PER_HOUR: '1000',
      },
      'deployer',
    );
    const app = await createPlatformApp(DeployerModule.forRoot({ service: 'deployer', config, nats: null }, { env: { HOOK_SECRET: SECRET } }));
    await app.listen(port, '127.0.0.1');
    apps.push(app);
    return app;
  };

  beforeAll(async () => {
    t = await createTestStore('deployer');
    root = mkdtempSync(join(tmpdir(), 'antibody-deployer-int-'));
    delivery = await deliverySystem();
  });

  afterAll(async () => {
    for (const app of apps.splice(0)) await app.close().catch(() => undefined);
    await delivery.close();
    await t.cleanup();
    rmSync(root, { recursive: true, force: true });
  });

  /** A git repository with a bare `origin`, and the service registered with it. */
  const registerService = async (autoDeploy: boolean) => {
    const name = uniqueName('shop').toLowerCase().replace(/[^a-z0-9-]/g, '-');
    const clone = join(root, name);
    const bare = join(root, `${name}.git`);
    git(root, 'init', '--bare', '-b', 'main', bare);
    git(root, 'init', '-b', 'main', clone);
    mkdirSync(join(clone, 'src'));
    writeFileSync(join(clone, 'src', 'cart.js'), 'function total(items) {\n  return items.reduce((sum, item) => sum + item.price, 0);\n}\n');
    git(clone, 'add', '.');
    git(clone, 'commit', '-m', 'initial');
    git(clone, 'remote', 'add', 'origin', bare);
    git(clone, 'push', 'origin', 'main');
    await t.store.appendToStream(`service-${name}`, [
      {
        type: 'ServiceRegistered',
        data: {
          ...fixture('ServiceRegistered'),
          name,
          repository: { url: clone, defaultBranch: 'main' },
          deploy: { adapter: 'webhook', settings: { url: `${delivery.url}/hooks`, secretEnv: 'HOOK_SECRET', countsUrl: `${delivery.url}/counts` } },
          policy: { autoDeploy, allowedPaths: ['src/**'], forbiddenPaths: [], budgets: { perIncidentUsd: 1, dailyUsd: 10, monthlyUsd: 100 } },
        },
        metadata: testMetadata({ correlationId: name }),
      },
    ]);
    return { name, clone, bare };
  };

  /** Appends IncidentOpened, its first sample (ErrorRecorded: it starts the diagnosis round), PatchProposed (a diff that applies to the repository) and PatchValidated. */
  const validatedIncident = async (service: string) => {
    const incidentId = randomUUID();
    const patchId = randomUUID();
    const streamId = `incident-${incidentId}`;
    const meta = () => testMetadata({ correlationId: incidentId });
    await t.store.appendToStream(streamId, [
      { type: 'IncidentOpened', data: { ...fixture('IncidentOpened'), incidentId, service }, metadata: meta() },
      { type: 'ErrorRecorded', data: fixture('ErrorRecorded'), metadata: meta() },
      { type: 'PatchProposed', data: { ...fixture('PatchProposed'), patchId, diff: DIFF, files: ['src/cart.js'], rationale: 'Treat a missing price as 0' }, metadata: meta() },
      { type: 'PatchValidated', data: { ...fixture('PatchValidated'), patchId }, metadata: meta() },
    ]);
    return { incidentId, patchId, streamId };
  };

  const events = async (streamId: string): Promise<readonly StoredEvent[]> => (await t.store.readStream(streamId)).events;
  const types = async (streamId: string) => (await events(streamId)).map((e) => e.type);
  const until = async (streamId: string, type: string, timeoutMs = 30_000) => {
    try {
      await waitFor(async () => (await types(streamId)).includes(type), { timeoutMs, description: `${type} in ${streamId}` });
    } catch (error) {
      // Say what the stream holds instead, so that a failure is readable.
      const last = (await events(streamId)).slice(4).map((e) => `${e.type} ${JSON.stringify(e.data).slice(0, 300)}`);
      throw new Error(`${(error as Error).message}; the stream holds: ${last.join(' | ') || 'nothing after PatchValidated'}`);
    }
  };
  const dataOf = async (streamId: string, type: string) => (await events(streamId)).filter((e) => e.type === type).map((e) => e.data as Record<string, unknown>);
  /** `antibody <argv>` in process, on this spec's schema; throws unless it exits 0. */
  const antibody = async (...argv: string[]) => {
    let stderr = '';
    const code = await runCli([...argv, '--schema', t.schema], { stdout: { write: () => true }, stderr: { write: (x: string) => ((stderr += x), true) }, env: { DATABASE_URL: t.databaseUrl } });
    if (code !== 0) throw new Error(`antibody ${argv.join(' ')} exited ${code}: ${stderr}`);
  };

  it('commits the fix on antibody/<incident> and, with autoDeploy, promotes it through every stage', async () => {
    delivery.state.canaryErrorRate = 0.01;
    await startDeployer();
    const svc = await registerService(true);
    const { incidentId, patchId, streamId } = await validatedIncident(svc.name);
    await until(streamId, 'RolloutCompleted');

    const [committed] = await dataOf(streamId, 'FixCommitted');
    expect(committed).toMatchObject({ patchId, branch: `antibody/${incidentId}` });
    const sha = String(committed!.commitSha);
    expect(git(svc.bare, 'rev-parse', `refs/heads/antibody/${incidentId}`)).toBe(sha);
    expect(git(svc.clone, 'log', '-1', '--format=%B', sha)).toContain(`Antibody-Incident: ${incidentId}`);
    expect(git(svc.clone, 'show', `${sha}:src/cart.js`)).toContain('item.price ?? 0');
    expect(git(svc.clone, 'status', '--porcelain')).toBe(''); // the working tree is untouched

    const all = await types(streamId);
    expect(all.slice(4)).toEqual(['FixCommitted', 'RolloutStarted', 'StageAdvanced', 'StageAdvanced', 'StageAdvanced', 'StageAdvanced', 'RolloutCompleted', 'IncidentResolved']);
    expect((await dataOf(streamId, 'StageAdvanced')).map((d) => d.stage)).toEqual([5, 25, 50, 100]);
    const [started] = await dataOf(streamId, 'RolloutStarted');
    expect(started).toMatchObject({ patchId, release: `${svc.name}@${sha.slice(0, 12)}`, stages: [1, 5, 25, 50, 100], judge: expect.objectContaining({ minDwellMs: 200 }) });
    const mine = delivery.hooks.filter((h) => h.release === started!.release);
    expect(mine.map((h) => `${h.type}:${h.percent}`)).toEqual(['canary.start:0', 'canary.stage:1', 'canary.stage:5', 'canary.stage:25', 'canary.stage:50', 'canary.stage:100']);
    expect(delivery.state.badSignatures).toBe(0);
    await waitFor(() => delivery.notices.some((n) => n.kind === 'rolled-out' && n.incidentId === incidentId), { timeoutMs: 5000, description: 'the rolled-out notice' });
  });

  it('rolls a canary that fails more back, and sends the incident back to diagnosis without that patch', async () => {
    delivery.state.canaryErrorRate = 0.3;
    const svc = await registerService(true);
    const { incidentId, patchId, streamId } = await validatedIncident(svc.name);
    await until(streamId, 'DiagnosisRequested');
    const [rolledBack] = await dataOf(streamId, 'RolledBack');
    expect(rolledBack).toMatchObject({ patchId, cause: 'error-regression' });
    expect((rolledBack!.evidence as { logEValue: { combined: number } }).logEValue.combined).toBeGreaterThanOrEqual(Math.log(100));
    expect(await dataOf(streamId, 'DiagnosisRequested')).toEqual([expect.objectContaining({ step: 'rollout', excludePatchIds: [patchId] })]);
    expect(await types(streamId)).not.toContain('RolloutCompleted');
    const [started] = await dataOf(streamId, 'RolloutStarted');
    expect(delivery.hooks.filter((h) => h.release === started!.release).pop()).toMatchObject({ type: 'canary.rollback' });
    await waitFor(() => delivery.notices.some((n) => n.kind === 'rolled-back' && n.incidentId === incidentId), { timeoutMs: 5000, description: 'the rolled-back notice' });
    delivery.state.canaryErrorRate = 0.01;
  });

  it('under a propose-only policy commits and proposes only; `antibody approve` then rolls it out', async () => {
    const svc = await registerService(false);
    const { incidentId, patchId, streamId } = await validatedIncident(svc.name);
    await waitFor(() => delivery.notices.some((n) => n.kind === 'fix-proposed' && n.incidentId === incidentId), { timeoutMs: 30_000, description: 'the fix-proposed notice' });
    expect((await types(streamId)).slice(4)).toEqual(['FixCommitted']);
    expect(git(svc.bare, 'rev-parse', `refs/heads/antibody/${incidentId}`)).toMatch(/^[0-9a-f]{40}$/);

    await antibody('approve', incidentId, '--by', 'alice');
    await until(streamId, 'RolloutCompleted');
    expect((await types(streamId)).slice(4)).toEqual(['FixCommitted', 'DecisionRecorded', 'RolloutStarted', 'StageAdvanced', 'StageAdvanced', 'StageAdvanced', 'StageAdvanced', 'RolloutCompleted', 'IncidentResolved']);
    expect((await dataOf(streamId, 'RolloutStarted'))[0]).toMatchObject({ patchId });
  });

  it('`antibody reject` of a proposed fix ends the incident with an escalation naming the person, and notifies', async () => {
    const svc = await registerService(false);
    const { incidentId, streamId } = await validatedIncident(svc.name);
    await until(streamId, 'FixCommitted');
    await antibody('reject', incidentId, '--by', 'bob', '--comment', 'wrong layer');
    await until(streamId, 'IncidentEscalated');
    expect((await dataOf(streamId, 'IncidentEscalated'))[0]).toMatchObject({ step: 'rollout', reason: expect.stringContaining('rejected by bob: wrong layer') });
    expect(await types(streamId)).not.toContain('RolloutStarted');
    await waitFor(() => delivery.notices.some((n) => n.kind === 'escalated' && n.incidentId === incidentId), { timeoutMs: 10_000, description: 'the escalated notice' });
  });

  it('notifies an escalation that says a budget ran out as "budget exceeded", once per service and scope', async () => {
    const svc = await registerService(false);
    const a = randomUUID();
    const b = randomUUID();
    for (const incidentId of [a, b]) {
      await t.store.appendToStream(`incident-${incidentId}`, [
        { type: 'IncidentOpened', data: { ...fixture('IncidentOpened'), incidentId, service: svc.name }, metadata: testMetadata({ correlationId: incidentId }) },
        { type: 'IncidentEscalated', data: { reason: 'daily LLM budget spent', step: 'diagnosis', budgetExceeded: { scope: 'daily', limitUsd: 10, spentUsd: 10.5 } }, metadata: testMetadata({ correlationId: incidentId }) },
      ]);
    }
    const key = `budget-daily-${svc.name}`;
    await waitFor(() => delivery.notices.some((n) => n.kind === 'budget-exceeded' && n.incidentId === key), { timeoutMs: 10_000, description: 'the budget notice' });
    // The second incident's escalation is the same budget on the same day: deduplicated.
    const c = randomUUID();
    await t.store.appendToStream(`incident-${c}`, [
      { type: 'IncidentOpened', data: { ...fixture('IncidentOpened'), incidentId: c, service: svc.name }, metadata: testMetadata({ correlationId: c }) },
      { type: 'IncidentEscalated', data: { reason: 'no patch', step: 'patch' }, metadata: testMetadata({ correlationId: c }) },
    ]);
    await waitFor(() => delivery.notices.some((n) => n.kind === 'escalated' && n.incidentId === c), { timeoutMs: 10_000, description: 'the later escalation notice' });
    expect(delivery.notices.filter((n) => n.kind === 'budget-exceeded' && n.incidentId === key)).toHaveLength(1);
    expect(delivery.notices.filter((n) => n.kind === 'escalated' && (n.incidentId === a || n.incidentId === b))).toHaveLength(0);
  });

  it('`antibody reject` during a rollout rolls it back (cause rejected) and escalates', async () => {
    delivery.state.perRead = 20; // 0.2 canary requests per read at 1 %: the first stage lasts
    try {
      const svc = await registerService(true);
      const { incidentId, patchId, streamId } = await validatedIncident(svc.name);
      await until(streamId, 'RolloutStarted');
      await antibody('reject', incidentId, '--by', 'carol', '--comment', 'not during the sale');
      await until(streamId, 'RolledBack');
      expect((await dataOf(streamId, 'RolledBack'))[0]).toMatchObject({ patchId, cause: 'rejected', reason: expect.stringContaining('carol') });
      await until(streamId, 'IncidentEscalated');
      expect(await types(streamId)).not.toContain('DiagnosisRequested');
    } finally {
      delivery.state.perRead = 4000;
    }
  });

  it('resumes a rollout after the deployer restarts, judging on from the recorded stage', async () => {
    delivery.state.perRead = 20;
    const svc = await registerService(true);
    const { streamId } = await validatedIncident(svc.name);
    await until(streamId, 'RolloutStarted');
    // Stop the deployer in the middle of the first stage: the traffic stays where it is.
    const first = apps.pop()!;
    await first.close();
    const [started] = await dataOf(streamId, 'RolloutStarted');
    const hooksBefore = delivery.hooks.filter((h) => h.release === started!.release).map((h) => h.type);
    expect(hooksBefore).not.toContain('canary.rollback');
    expect(await types(streamId)).not.toContain('RolledBack');

    delivery.state.perRead = 4000;
    await startDeployer();
    await until(streamId, 'RolloutCompleted');
    expect((await dataOf(streamId, 'StageAdvanced')).map((d) => d.stage)).toEqual([5, 25, 50, 100]);
    expect((await types(streamId)).filter((x) => x === 'RolloutStarted')).toHaveLength(1);
    expect(delivery.hooks.filter((h) => h.release === started!.release).map((h) => h.type)).not.toContain('canary.rollback');
  });

  it('escalates an incident whose every candidate was rejected, once, naming each rejection', async () => {
    const svc = await registerService(true);
    const incidentId = randomUUID();
    const [first, second] = [randomUUID(), randomUUID()];
    const streamId = `incident-${incidentId}`;
    const meta = () => testMetadata({ correlationId: incidentId });
    const proposed = (patchId: string, rank: number) => ({ type: 'PatchProposed', data: { ...fixture('PatchProposed'), patchId, diff: DIFF, files: ['src/cart.js'], rank }, metadata: meta() });
    await t.store.appendToStream(streamId, [
      { type: 'IncidentOpened', data: { ...fixture('IncidentOpened'), incidentId, service: svc.name }, metadata: meta() },
      { type: 'ErrorRecorded', data: fixture('ErrorRecorded'), metadata: meta() },
      proposed(first, 1),
      proposed(second, 2),
    ]);
    // The worse candidate's verdict first, in a transaction of its own: it settles nothing.
    await t.store.appendToStream(streamId, [{ type: 'PatchRejected', data: { patchId: second, reason: 'cart.spec.js › total: expected 3, got NaN', failingTests: ['total'], stage: 'tests' }, metadata: meta() }]);
    await t.store.appendToStream(streamId, [{ type: 'PatchRejected', data: { patchId: first, reason: 'the captured TypeError still happens', failingTests: [], stage: 'reproduction' }, metadata: meta() }]);
    await until(streamId, 'IncidentEscalated');
    const escalations = await dataOf(streamId, 'IncidentEscalated');
    expect(escalations).toEqual([
      {
        step: 'validation',
        reason: `the validator rejected all 2 candidates of round 0: patch ${first.slice(0, 8)} (rank 1) rejected at reproduction: the captured TypeError still happens; patch ${second.slice(0, 8)} (rank 2) rejected at tests: cart.spec.js › total: expected 3, got NaN; a person decides the next step`,
      },
    ]);
    expect(await types(streamId)).not.toContain('FixCommitted');
  });

  it('escalates an incident whose event a handler failed on until it was dead-lettered, naming the consumer, the event and the error', async () => {
    const svc = await registerService(true);
    const incidentId = randomUUID();
    const streamId = `incident-${incidentId}`;
    // Another service's consumer that always throws on this incident's sample.
    const bus = createStoreLogBus({ store: t.store, producer: { service: 'analyzer', instance: 'analyzer-test' }, pollIntervalMs: 50 });
    const consumer = `analyzer-${uniqueName('diagnose').replace(/_/g, '-')}`;
    try {
      await bus.consume({ durable: consumer, types: ['ErrorRecorded'], from: 'now', maxDeliver: 3, backoffMs: [20] }, async (event) => {
        if (event.streamId === streamId) throw new Error('the mirror is missing a blob');
      });
      await t.store.appendToStream(streamId, [
        { type: 'IncidentOpened', data: { ...fixture('IncidentOpened'), incidentId, service: svc.name }, metadata: testMetadata({ correlationId: incidentId }) },
        { type: 'ErrorRecorded', data: fixture('ErrorRecorded'), metadata: testMetadata({ correlationId: incidentId }) },
      ]);
      await until(streamId, 'IncidentEscalated');
    } finally {
      await bus.close();
    }
    const [sample] = (await events(streamId)).filter((e) => e.type === 'ErrorRecorded');
    const [letter] = await events(`deadletter-${consumer}`);
    expect(letter).toMatchObject({ type: 'MessageDeadLettered', data: { consumer, originalEventId: sample!.eventId, originalType: 'ErrorRecorded', originalStreamId: streamId } });
    const escalated = (await events(streamId)).filter((e) => e.type === 'IncidentEscalated');
    expect(escalated).toHaveLength(1);
    expect(escalated[0]).toMatchObject({
      data: { step: 'diagnosis', reason: expect.stringContaining(`handler ${consumer} failed on ErrorRecorded ${sample!.eventId} until it was dead-lettered`) },
      metadata: { causationId: letter!.eventId },
    });
    expect(escalated[0]).toMatchObject({ data: { reason: expect.stringContaining('handler failed 3 times: Error: the mirror is missing a blob') } });
  });
});
