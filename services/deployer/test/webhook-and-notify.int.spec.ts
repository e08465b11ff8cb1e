import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHash, createHmac, randomUUID } from 'node:crypto';
import { createTestStore, waitFor, type TestStore } from '@antibody/testing';
import { Notifier, type NotifierOptions } from '../src/infrastructure/notifier';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, verifyWebhook, WebhookAdapter } from '../src/infrastructure/webhook-adapter';

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A local receiver; answers `status(path)` (200 by default). */
async function receiver(status: (path: string) => number = () => 200): Promise<{ url: string; received: Received[]; server: Server }> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(status(req.url ?? ''));
      res.end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received, server };
}

describe('webhook deploy adapter', () => {
  it('sends HMAC-signed stage changes that the receiver verifies, and rejects tampering', async () => {
    const r = await receiver();
    const counts = { canary: { requests: 10, errors: 0, slow: 1 }, stable: { requests: 190, errors: 2, slow: 9 } };
    const adapter = new WebhookAdapter({ url: `${r.url}/hooks/antibody`, secret: 's3cret', service: 'shop', incidentId: 'inc-1', patchId: 'p-1', readCounts: async () => counts });
    await adapter.startCanary('shop@1.2.0');
    await adapter.setStage(5);
    await adapter.rollback('regression');
    expect(await adapter.readCounts()).toEqual(counts);
    r.server.close();
    const nowSec = Math.floor(Date.now() / 1000);
    expect(r.received.map((x) => JSON.parse(x.body).type)).toEqual(['canary.start', 'canary.stage', 'canary.rollback']);
    for (const x of r.received) {
      const headers = { signature: x.headers[SIGNATURE_HEADER] as string, timestamp: x.headers[TIMESTAMP_HEADER] as string };
      expect(verifyWebhook('s3cret', headers, x.body, nowSec)).toBe(true);
      expect(verifyWebhook('wrong', headers, x.body, nowSec)).toBe(false);
      expect(verifyWebhook('s3cret', headers, x.body.replace('"shop"', '"evil"'), nowSec)).toBe(false);
      expect(verifyWebhook('s3cret', headers, x.body, nowSec + 3600)).toBe(false);
    }
    expect(JSON.parse(r.received[1]!.body)).toMatchObject({ percent: 5, release: 'shop@1.2.0', incidentId: 'inc-1' });
  });

  it('fails with REFUSED when the delivery system answers an error', async () => {
    const r = await receiver(() => 503);
    const adapter = new WebhookAdapter({ url: r.url, secret: 's', service: 'shop', incidentId: 'i', patchId: 'p', readCounts: async () => ({}) });
    await expect(adapter.setStage(5)).rejects.toMatchObject({ name: 'DeployAdapterError', code: 'REFUSED' });
    await expect(adapter.readCounts()).rejects.toMatchObject({ code: 'BAD_COUNTS' });
    r.server.close();
  });
});

describe('notifications (the outbox on real Postgres)', () => {
  let t: TestStore;
  const notifiers: Notifier[] = [];
  beforeAll(async () => {
    t = await createTestStore('notices');
  });
  afterEach(async () => {
    await Promise.all(notifiers.splice(0).map((n) => n.stop()));
  });
  afterAll(async () => {
    await t.cleanup();
  });
  const make = (options: Partial<NotifierOptions> & Pick<NotifierOptions, 'slackWebhookUrls' | 'genericWebhookUrls'>) => {
    const n = new Notifier({ retryBaseMs: 50, lockRetryMs: 100, consoleUrl: 'https://console.example/', ...options }).attach(t.store);
    notifiers.push(n);
    n.start();
    return n;
  };
  const streamTypes = async (url: string) => {
    const channel = `webhook-${createHash('sha256').update(url).digest('hex').slice(0, 16)}`;
    return (await t.store.readStream(`notice-${channel}`)).events.map((e) => e.type);
  };

  it('posts Slack payloads and signed generic JSON linking the incident, deduplicated per incident for 24 h', async () => {
    const r = await receiver();
    const secret = `whsec_${Buffer.from('0123456789abcdef0123456789abcdef').toString('base64')}`;
    const notifier = make({ slackWebhookUrls: [`${r.url}/slack`], genericWebhookUrls: [`${r.url}/generic`], webhookSecret: secret });
    const incidentId = randomUUID();
    const notice = { kind: 'rolled-back' as const, incidentId, service: 'shop', title: 'Rolled back shop@1.2.0', details: 'canary 10% errors vs 0%' };
    expect(await notifier.notify(notice)).toMatchObject({ recorded: true });
    expect(await notifier.notify(notice)).toEqual({ recorded: false, reason: 'duplicate' });
    expect(await notifier.notify({ ...notice, details: 'again' })).toEqual({ recorded: false, reason: 'duplicate' });
    expect(await notifier.notify({ ...notice, kind: 'escalated' })).toMatchObject({ recorded: true });
    await waitFor(() => r.received.length === 4, { timeoutMs: 10_000, description: 'four deliveries' });
    const slack = r.received.filter((x) => x.path === '/slack').map((x) => JSON.parse(x.body));
    expect(slack[0]).toMatchObject({ text: expect.stringContaining('Rolled back shop@1.2.0') });
    expect(JSON.stringify(slack[0])).toContain(`https://console.example/incidents/${incidentId}`);
    const generic = r.received.find((x) => x.path === '/generic')!;
    expect(JSON.parse(generic.body)).toMatchObject({ type: 'notice', kind: 'rolled-back', incidentId, link: `https://console.example/incidents/${incidentId}` });
    // Verified as the Standard Webhooks spec says: HMAC-SHA256 over id.timestamp.body with the decoded whsec_ key.
    const { 'webhook-id': id, 'webhook-timestamp': ts, 'webhook-signature': sig } = generic.headers as Record<string, string>;
    const expected = createHmac('sha256', Buffer.from(secret.slice('whsec_'.length), 'base64')).update(`${id}.${ts}.${generic.body}`).digest('base64');
    expect(sig).toBe(`v1,${expected}`);
    expect(Math.abs(Number(ts) - Date.now() / 1000)).toBeLessThan(300);
    r.server.close();
  });

  it('retries a failing receiver with backoff and delivers once; a restart does not send again', async () => {
    let calls = 0;
    const r = await receiver(() => (++calls <= 2 ? 503 : 200));
    const url = `${r.url}/flaky`;
    const first = make({ slackWebhookUrls: [], genericWebhookUrls: [url] });
    await first.notify({ kind: 'escalated', incidentId: randomUUID(), service: 'shop', title: 'flaky', details: 'd' });
    await waitFor(async () => (await streamTypes(url)).includes('NoticeDelivered'), { timeoutMs: 10_000, description: 'NoticeDelivered' });
    expect(r.received).toHaveLength(3);
    expect(new Set(r.received.map((x) => x.headers['webhook-id'])).size).toBe(1);
    const delivered = (await t.store.readStream(`notice-webhook-${createHash('sha256').update(url).digest('hex').slice(0, 16)}`)).events.find((e) => e.type === 'NoticeDelivered')!;
    expect(delivered.data).toMatchObject({ attempts: 3, digest: false });
    await first.stop();
    // A new instance on the same store: the outbox says it was delivered.
    const second = make({ slackWebhookUrls: [], genericWebhookUrls: [url] });
    await second.notify({ kind: 'rolled-out', incidentId: randomUUID(), service: 'shop', title: 'next', details: 'd' });
    await waitFor(() => r.received.length === 4, { timeoutMs: 10_000, description: 'the next notice' });
    expect(r.received.map((x) => JSON.parse(x.body).title)).toEqual(['flaky', 'flaky', 'flaky', 'next']);
    r.server.close();
  });

  it('records a notice that keeps failing as NoticeFailed after its bounded attempts', async () => {
    const r = await receiver(() => 500);
    const url = `${r.url}/down`;
    const n = make({ slackWebhookUrls: [], genericWebhookUrls: [url], maxAttempts: 3 });
    await n.notify({ kind: 'escalated', incidentId: randomUUID(), service: 'shop', title: 't', details: 'd' });
    await waitFor(async () => (await streamTypes(url)).includes('NoticeFailed'), { timeoutMs: 10_000, description: 'NoticeFailed' });
    expect(r.received).toHaveLength(3);
    r.server.close();
  });

  it('over the rate, folds notices into one digest listing them, never dropping one', async () => {
    const r = await receiver();
    const url = `${r.url}/busy`;
    const n = make({ slackWebhookUrls: [], genericWebhookUrls: [url], maxPerHour: 2, windowMs: 1500 });
    for (let i = 0; i < 6; i++) await n.notify({ kind: 'fix-proposed', incidentId: randomUUID(), service: 'shop', title: `fix ${i}`, details: 'PR opened' });
    const titles = () => r.received.flatMap((x) => {
      const body = JSON.parse(x.body) as { type: string; title?: string; notices?: { title: string }[] };
      return body.type === 'digest' ? body.notices!.map((m) => m.title) : [body.title!];
    });
    await waitFor(() => titles().length === 6, { timeoutMs: 10_000, description: 'all six notices' });
    expect(titles().sort()).toEqual([0, 1, 2, 3, 4, 5].map((i) => `fix ${i}`));
    expect(r.received.some((x) => JSON.parse(x.body).type === 'digest')).toBe(true);
    expect(r.received.length).toBeLessThan(6);
    r.server.close();
  });
});
