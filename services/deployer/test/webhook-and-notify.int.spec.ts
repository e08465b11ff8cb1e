import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Notifier } from '../src/infrastructure/notifier';
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

describe('notifications', () => {
  it('posts Slack incoming-webhook payloads and generic JSON, deduplicated per incident for 24 h', async () => {
    const r = await receiver();
    let now = Date.parse('2026-01-01T00:00:00Z');
    const notifier = new Notifier({ slackWebhookUrls: [`${r.url}/slack`], genericWebhookUrls: [`${r.url}/generic`], now: () => now });
    const notice = { kind: 'rolled-back' as const, incidentId: 'inc-1', service: 'shop', title: 'Rolled back shop@1.2.0', details: 'canary 10% errors vs 0%' };
    expect(await notifier.notify(notice)).toEqual({ sent: true, deliveries: 2, failures: [] });
    expect(await notifier.notify(notice)).toEqual({ sent: false, reason: 'duplicate' });
    now += 23 * 3600_000;
    expect(await notifier.notify(notice)).toEqual({ sent: false, reason: 'duplicate' });
    expect((await notifier.notify({ ...notice, kind: 'escalated' })).sent).toBe(true);
    now += 2 * 3600_000;
    expect((await notifier.notify(notice)).sent).toBe(true);
    const slack = r.received.filter((x) => x.path === '/slack').map((x) => JSON.parse(x.body));
    expect(slack).toHaveLength(3);
    expect(slack[0]).toMatchObject({ text: expect.stringContaining('Rolled back shop@1.2.0'), blocks: expect.arrayContaining([expect.objectContaining({ type: 'section' })]) });
    expect(JSON.parse(r.received.find((x) => x.path === '/generic')!.body)).toMatchObject({ kind: 'rolled-back', incidentId: 'inc-1' });
    r.server.close();
  });

  it('sends at most 10 per hour by default, then again after the hour', async () => {
    const r = await receiver();
    let now = 0;
    const notifier = new Notifier({ slackWebhookUrls: [r.url], genericWebhookUrls: [], now: () => now });
    const outcomes = [];
    for (let i = 0; i < 12; i++) outcomes.push(await notifier.notify({ kind: 'fix-proposed', incidentId: `inc-${i}`, service: 'shop', title: `fix ${i}`, details: 'PR opened' }));
    expect(outcomes.filter((o) => o.sent)).toHaveLength(10);
    expect(outcomes.slice(10)).toEqual([{ sent: false, reason: 'rate-limited' }, { sent: false, reason: 'rate-limited' }]);
    expect(r.received).toHaveLength(10);
    now += 3600_000;
    expect((await notifier.notify({ kind: 'budget-exceeded', incidentId: 'daily', service: 'shop', title: 'budget', details: 'over' })).sent).toBe(true);
    r.server.close();
  });

  it('reports a failing receiver without throwing', async () => {
    const r = await receiver(() => 500);
    const notifier = new Notifier({ slackWebhookUrls: [r.url], genericWebhookUrls: ['http://127.0.0.1:1/none'] });
    const outcome = await notifier.notify({ kind: 'escalated', incidentId: 'x', service: 'shop', title: 't', details: 'd' });
    expect(outcome).toMatchObject({ sent: true, deliveries: 0 });
    r.server.close();
  });
});
