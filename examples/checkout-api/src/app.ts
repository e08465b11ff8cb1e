import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import * as Sentry from '@sentry/node';
import { listProducts } from './catalog';
import { CheckoutError, placeOrder, quote, scheduleDelivery, type DeliveryRequest, type OrderRequest, type QuoteRequest } from './checkout';

/** An HTTP answer: status and JSON body. */
interface Reply {
  status: number;
  body: unknown;
}

/** A request the client must fix: HTTP 400 with the message. */
class BadRequest extends Error {
  override readonly name = 'BadRequest';
}

type Route = (body: unknown) => Reply;

const MAX_BODY_BYTES = 64 * 1024;

const routes: Record<string, Route> = {
  'GET /health': () => ({ status: 200, body: { status: 'ok' } }),
  'GET /products': () => ({ status: 200, body: { products: listProducts() } }),
  'POST /quote': (body) => ({ status: 200, body: quote(expectCart(body) as unknown as QuoteRequest) }),
  'POST /orders': (body) => {
    const cart = expectCart(body);
    expectObject(cart['customer'], 'customer');
    return { status: 201, body: placeOrder(cart as unknown as OrderRequest) };
  },
  'POST /deliveries': (body) => {
    const request = expectObject(body, 'body');
    if (typeof request['orderId'] !== 'string') throw new BadRequest('orderId must be a string');
    if (typeof request['deliverOn'] !== 'string') throw new BadRequest('deliverOn must be a date string, e.g. 2025-12-24');
    return { status: 201, body: scheduleDelivery(request as unknown as DeliveryRequest) };
  },
};

/**
 * The checkout API as a node:http server (not yet listening). Unexpected errors are reported to
 * Sentry (a no-op when Sentry was not initialised) and answered with 500 and the Sentry event id.
 */
export function createApp(): Server {
  return createServer((req, res) => {
    readBody(req)
      .then((raw) => {
        const path = new URL(req.url ?? '/', 'http://localhost').pathname;
        const route = routes[`${req.method} ${path}`];
        if (!route) return send(res, { status: 404, body: { error: `no route for ${req.method} ${path}` } });
        return send(res, route(parseJson(raw)));
      })
      .catch((error: unknown) => {
        if (error instanceof BadRequest) return send(res, { status: 400, body: { error: error.message } });
        if (error instanceof CheckoutError) return send(res, { status: 422, body: { error: error.message, code: error.code } });
        const eventId = Sentry.captureException(error);
        return send(res, { status: 500, body: { error: 'internal error', eventId } });
      });
  });
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) reject(new BadRequest(`body larger than ${MAX_BODY_BYTES} bytes`));
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function parseJson(raw: string): unknown {
  if (raw.trim() === '') return undefined;
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    throw new BadRequest('body is not valid JSON');
  }
}

function expectObject(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new BadRequest(`${what} must be a JSON object`);
  return value as Record<string, unknown>;
}

function expectCart(body: unknown): Record<string, unknown> {
  const cart = expectObject(body, 'body');
  if (!Array.isArray(cart['items'])) throw new BadRequest('items must be an array of { sku, quantity }');
  return cart;
}

function send(res: ServerResponse, reply: Reply): void {
  res.writeHead(reply.status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(reply.body));
}
