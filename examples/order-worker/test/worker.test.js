'use strict';

const { createQueue } = require('../src/queue');
const { createWorkerServer } = require('../src/server');
const { fulfil } = require('../src/orders');

let server;
let queue;
let base;

beforeAll(async () => {
  queue = createQueue({ handlers: { 'fulfil-order': fulfil } });
  server = createWorkerServer(queue);
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${server.address().port}`;
});

afterAll(() => new Promise((resolve) => server.close(resolve)));

const post = (body) =>
  fetch(`${base}/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });

const payload = {
  orderId: 'o-2001',
  lines: [{ sku: 'TEA-BLACK-250', quantity: 3, unitPriceCents: 1290, weightGrams: 260 }],
  customer: { id: 'c-7', email: 'c@example.com', notifications: { email: true } },
};

describe('order-worker', () => {
  it('accepts a job, works it and reports it done', async () => {
    const res = await post({ id: 'job-1', type: 'fulfil-order', payload });
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ ids: ['job-1'] });
    await queue.whenIdle();
    const status = await (await fetch(`${base}/jobs/job-1`)).json();
    expect(status.status).toBe('done');
    expect(status.output.invoice.totalMinor).toBe('3870');
  });

  it('works a batch in order and counts it', async () => {
    const res = await post([
      { type: 'fulfil-order', payload },
      { type: 'fulfil-order', payload: { ...payload, orderId: 'o-2002' } },
    ]);
    const { ids } = await res.json();
    expect(ids).toHaveLength(2);
    await queue.whenIdle();
    const stats = await (await fetch(`${base}/stats`)).json();
    expect(stats.done).toBeGreaterThanOrEqual(3);
    expect(stats.queued).toBe(0);
  });

  it('fails a job of an unknown type and goes on', async () => {
    await post({ id: 'job-x', type: 'refund-order', payload });
    await queue.whenIdle();
    const status = await (await fetch(`${base}/jobs/job-x`)).json();
    expect(status).toEqual({ id: 'job-x', status: 'failed', error: 'UnknownJobTypeError: no handler for job type "refund-order"' });
  });

  it('answers 400 to a malformed job and 404 to an unknown job', async () => {
    expect((await post('{')).status).toBe(400);
    expect((await post({ payload })).status).toBe(400);
    expect((await fetch(`${base}/jobs/nope`)).status).toBe(404);
    expect((await fetch(`${base}/health`)).status).toBe(200);
  });
});
