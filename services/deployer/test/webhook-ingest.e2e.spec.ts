// The webhook adapter with its counts read from ingest, end to end: a real antibody-ingest process
// on a fresh schema, a local delivery system that receives the signed stage changes and moves an
// application's traffic accordingly, the application's requests reported to ingest as OTLP spans,
// and the production adapter, rollout runner and judge reading GET /v1/releases/counts.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createTestStore, freePort, startProcess, testMetadata, uniqueName, waitFor, type TestProcess, type TestStore } from '@antibody/testing';
import { DEFAULT_JUDGE_CONFIG, type JudgeEvent } from '@antibody/domain';
import { runRollout } from '../src/infrastructure/rollout-runner';
import { adapterFor } from '../src/infrastructure/service-registry';
import { verifyWebhook } from '../src/infrastructure/webhook-adapter';

const INGEST = join(__dirname, '..', '..', 'ingest', 'dist', 'main.js');
const SECRET = 'whsec-test';

/** OTLP/JSON spans of one release: `errors` of `count` answer 500. */
function spans(service: string, release: string, count: number, errors: number): string {
  const now = BigInt(Date.now()) * 1_000_000n;
  return JSON.stringify({
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }, { key: 'service.version', value: { stringValue: release } }] },
        scopeSpans: [
          {
            spans: Array.from({ length: count }, (_, i) => ({
              traceId: randomBytes(16).toString('hex'),
              spanId: randomBytes(8).toString('hex'),
              name: 'GET /cart',
              kind: 2,
              startTimeUnixNano: String(now - 5_000_000n),
              endTimeUnixNano: String(now),
              status: { code: i < errors ? 2 : 0 },
              attributes: [{ key: 'http.response.status_code', value: { intValue: i < errors ? 500 : 200 } }],
            })),
          },
        ],
      },
    ],
  });
}

describe('webhook adapter judged on ingest counts (real ingest process)', () => {
  let t: TestStore;
  let ingest: TestProcess;
  let ingestUrl: string;
  let delivery: Server;
  let deliveryUrl: string;
  /** The delivery system's state: the canary's share, moved by the signed webhooks it accepts. */
  const traffic = { canary: '', percent: 0, canaryErrorRate: 0 };
  const received: { type: string; percent: number }[] = [];
  let rejectedSignatures = 0;
  let sending = true;
  let sender: Promise<void>;
  const service = uniqueName('shop').replace(/_/g, '-');
  const key = randomBytes(16).toString('hex');

  beforeAll(async () => {
    t = await createTestStore('whingest');
    const port = await freePort();
    ingestUrl = `http://127.0.0.1:${port}`;
    ingest = startProcess(INGEST, { DATABASE_URL: t.databaseUrl, ANTIBODY_SCHEMA: t.schema, PORT: String(port), INGEST_BUCKET_SECONDS: '1', LOG_LEVEL: 'warn', SERVICE_INSTANCE_ID: 'whingest' });
    await waitFor(async () => (await fetch(`${ingestUrl}/health`).catch(() => undefined))?.ok === true, { timeoutMs: 90_000, description: `ingest to start (${ingest.stderr().slice(-300)})` });
    const meta = testMetadata({ correlationId: service });
    await t.store.appendToStream(`service-${service}`, [
      {
        type: 'ServiceRegistered',
        data: {
          name: service,
          repository: { url: '/tmp/nowhere', defaultBranch: 'main' },
          commands: { test: 'npm test' },
          language: 'typescript',
          deploy: { adapter: 'webhook', settings: { url: 'set below', secretEnv: 'HOOK_SECRET', ingestKeyEnv: 'SHOP_INGEST_KEY' } },
          policy: { autoDeploy: true, allowedPaths: ['src/**'], forbiddenPaths: [], budgets: { perIncidentUsd: 1, dailyUsd: 10, monthlyUsd: 100 } },
        },
        metadata: meta,
      },
      { type: 'IngestKeyCreated', data: { keyId: randomUUID(), project: service, hash: createHash('sha256').update(key).digest('hex'), label: 'deployer' }, metadata: meta },
    ]);
    await waitFor(async () => (await fetch(`${ingestUrl}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-antibody-key': key }, body: spans(service, 'shop@1.0.0', 1, 0) })).status === 200, {
      timeoutMs: 30_000,
      description: 'ingest to know the key',
    });

    delivery = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const ok = verifyWebhook(SECRET, { signature: req.headers['x-antibody-signature'] as string, timestamp: req.headers['x-antibody-timestamp'] as string }, body, Date.now() / 1000);
        if (!ok) {
          rejectedSignatures++;
          res.writeHead(401).end();
          return;
        }
        const change = JSON.parse(body) as { type: string; release: string; percent: number };
        received.push({ type: change.type, percent: change.percent });
        if (change.type === 'canary.start') Object.assign(traffic, { canary: change.release, percent: 0 });
        if (change.type === 'canary.stage') traffic.percent = change.percent;
        if (change.type === 'canary.rollback') traffic.percent = 0;
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => delivery.listen(0, '127.0.0.1', resolve));
    deliveryUrl = `http://127.0.0.1:${(delivery.address() as AddressInfo).port}/hooks`;

    // The application: 60 requests per tick split by the delivery system's share; stable fails 1 in 60.
    sender = (async () => {
      while (sending) {
        const canary = traffic.canary && traffic.percent > 0 ? Math.round((60 * traffic.percent) / 100) : 0;
        const post = (release: string, n: number, errors: number) =>
          n > 0 ? fetch(`${ingestUrl}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-antibody-key': key }, body: spans(service, release, n, errors) }) : undefined;
        await Promise.all([post('shop@1.0.0', 60 - canary, 1), post(traffic.canary, canary, Math.round(canary * traffic.canaryErrorRate))]);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();
  });

  afterAll(async () => {
    sending = false;
    await sender;
    delivery?.close();
    ingest?.stop();
    await ingest?.exited;
    await t?.cleanup();
  });

  /** An incident whose error came from the stable release, with its fix committed now. */
  const committedFix = async () => {
    const incidentId = randomUUID();
    const patchId = randomUUID();
    const meta = () => testMetadata({ correlationId: incidentId });
    await t.store.appendToStream(`incident-${incidentId}`, [
      { type: 'IncidentOpened', data: { incidentId, service, fingerprint: 'fp', exception: { type: 'TypeError', value: 'boom' }, release: 'shop@1.0.0', firstSeen: new Date().toISOString() }, metadata: meta() },
      { type: 'FixCommitted', data: { patchId, branch: `antibody/${incidentId}`, commitSha: randomBytes(20).toString('hex') }, metadata: meta() },
    ]);
    return { incidentId, patchId };
  };

  const rollout = async (release: string, canaryErrorRate: number) => {
    traffic.canaryErrorRate = canaryErrorRate;
    const { incidentId, patchId } = await committedFix();
    const adapter = adapterFor(
      { adapter: 'webhook', settings: { url: deliveryUrl, secretEnv: 'HOOK_SECRET', ingestKeyEnv: 'SHOP_INGEST_KEY', ingestUrl } },
      { service, incidentId, patchId, release },
      { store: t.store, producer: { service: 'deployer', instance: 'spec' }, env: { HOOK_SECRET: SECRET, SHOP_INGEST_KEY: key } },
    );
    const events: JudgeEvent[] = [];
    const final = await runRollout({
      adapter,
      judge: { ...DEFAULT_JUDGE_CONFIG, stages: [10, 50, 100], minDwellMs: 1500, minCanaryRequests: 30, stageDeadlineMs: 60_000, alpha: 0.01 },
      release,
      observeEveryMs: 300,
      onEvent: (e) => void events.push(e),
    });
    return { final, events };
  };

  it('promotes a good release on the counts ingest reads from its spans', async () => {
    received.length = 0;
    const { final, events } = await rollout('shop@1.1.0', 1 / 60);
    expect(final.status).toBe('completed');
    expect(received.map((r) => `${r.type}:${r.percent}`)).toEqual(['canary.start:0', 'canary.stage:10', 'canary.stage:50', 'canary.stage:100']);
    const completed = events.find((e) => e.type === 'RolloutCompleted');
    if (completed?.type !== 'RolloutCompleted') throw new Error('expected RolloutCompleted');
    expect(completed.trace.every((step) => step.canary.requests >= 30)).toBe(true);
    expect(rejectedSignatures).toBe(0);
  });

  it('rolls back a release whose requests fail, on the evidence of the ingest counts', async () => {
    received.length = 0;
    const { final, events } = await rollout('shop@1.2.0', 0.25);
    expect(final.status).toBe('rolled-back');
    const rolledBack = events.find((e) => e.type === 'RolledBack');
    if (rolledBack?.type !== 'RolledBack') throw new Error('expected RolledBack');
    expect(['error-regression', 'error-ceiling']).toContain(rolledBack.cause);
    expect(rolledBack.evidence.errorRate.canary).toBeGreaterThan(0.1);
    expect(rolledBack.evidence.errorRate.baseline).toBeLessThan(0.05);
    expect(received[received.length - 1]?.type).toBe('canary.rollback');
  });

  it('refuses to read counts without an ingest key, naming the setting to fix', async () => {
    const { incidentId, patchId } = await committedFix();
    const adapter = adapterFor(
      { adapter: 'webhook', settings: { url: deliveryUrl, secretEnv: 'HOOK_SECRET', ingestKeyEnv: 'MISSING_KEY', ingestUrl } },
      { service, incidentId, patchId, release: 'shop@1.3.0' },
      { store: t.store, producer: { service: 'deployer', instance: 'spec' }, env: { HOOK_SECRET: SECRET } },
    );
    await expect(adapter.readCounts()).rejects.toThrow(/no ingest key to read .*: set deploy.settings.ingestKeyEnv/);
  });
});
