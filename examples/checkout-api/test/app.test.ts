import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { createApp } from '../src/app';

let server: Server;
let base: string;

beforeAll(async () => {
  server = createApp();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

async function post(path: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(base + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('checkout-api over HTTP', () => {
  it('answers /health', async () => {
    const res = await fetch(`${base}/health`);
    expect(res.status).toBe(200);
  });

  it('lists the products', async () => {
    const res = await fetch(`${base}/products`);
    const body = (await res.json()) as { products: unknown[] };
    expect(body.products).toHaveLength(4);
  });

  it('quotes a cart', async () => {
    const res = await post('/quote', { items: [{ sku: 'TEA-GREEN-100', quantity: 3 }] });
    expect(res.status).toBe(200);
    expect(res.body['totalCents']).toBe(2550);
  });

  it('places an order for delivery', async () => {
    const res = await post('/orders', {
      customer: { id: 'c-9', email: 'b@example.com', address: { line1: 'Rue 2', city: 'Lyon', postalCode: '69001', country: 'FR' } },
      items: [{ sku: 'TEA-BLACK-250', quantity: 1 }],
    });
    expect(res.status).toBe(201);
    expect(res.body['shippingCents']).toBe(890);
  });

  it('books a delivery slot', async () => {
    const res = await post('/deliveries', { orderId: 'o-7', deliverOn: '2026-01-05', window: 'afternoon' });
    expect(res.status).toBe(201);
    expect(res.body['endsAt']).toBe('2026-01-05T18:00:00.000Z');
  });

  it('answers 400 to malformed requests and 422 to unknown products', async () => {
    expect((await post('/quote', '{"items": [')).status).toBe(400);
    expect((await post('/quote', { items: 'tea' })).status).toBe(400);
    expect((await post('/deliveries', { orderId: 'o-1' })).status).toBe(400);
    expect((await post('/quote', { items: [{ sku: 'COFFEE', quantity: 1 }] })).status).toBe(422);
  });

  it('answers 404 to an unknown route', async () => {
    expect((await fetch(`${base}/nope`)).status).toBe(404);
  });
});
