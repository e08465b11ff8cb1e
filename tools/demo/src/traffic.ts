// Real HTTP traffic for the sample application (examples/checkout-api) through the fleet's proxy:
// what its customers send every day, and the plausible requests that trip its latent bugs (the same
// inputs as examples/checkout-api/harness/bugs.ts, which Antibody's own specs prove are real bugs).

/** A request that trips one of checkout-api's latent bugs, and the error it raises. */
export interface DemoBug {
  readonly id: 'empty-cart' | 'pickup-without-address' | 'day-first-date';
  readonly name: string;
  readonly path: string;
  readonly body: unknown;
  readonly errorType: string;
  readonly message: string;
}

export const CHECKOUT_BUGS: readonly DemoBug[] = [
  {
    id: 'pickup-without-address',
    name: 'pickup order without an address',
    path: '/orders',
    body: { customer: { id: 'c-42', email: 'pickup@example.com' }, fulfilment: 'pickup', items: [{ sku: 'TEA-GREEN-100', quantity: 1 }] },
    errorType: 'TypeError',
    message: "Cannot read properties of undefined (reading 'country')",
  },
  {
    id: 'day-first-date',
    name: 'day-first delivery date',
    path: '/deliveries',
    body: { orderId: 'o-1', deliverOn: '24/12/2025' },
    errorType: 'RangeError',
    message: 'Invalid time value',
  },
  {
    id: 'empty-cart',
    name: 'empty cart',
    path: '/quote',
    body: { items: [] },
    errorType: 'TypeError',
    message: 'Reduce of empty array with no initial value',
  },
];

/** The bug with this id; throws a RangeError naming the valid ids. */
export function bugById(id: string): DemoBug {
  const bug = CHECKOUT_BUGS.find((b) => b.id === id);
  if (!bug) throw new RangeError(`unknown bug "${id}"; one of ${CHECKOUT_BUGS.map((b) => b.id).join(', ')}`);
  return bug;
}

const ADDRESS = { line1: 'Hauptstraße 5', city: 'Berlin', postalCode: '10115', country: 'DE' };

/** Everyday requests that work on every release. */
const NORMAL: readonly { method: 'GET' | 'POST'; path: string; body?: unknown }[] = [
  { method: 'GET', path: '/products' },
  { method: 'POST', path: '/quote', body: { items: [{ sku: 'TEA-GREEN-100', quantity: 2 }] } },
  { method: 'POST', path: '/quote', body: { items: [{ sku: 'POT-CAST-IRON', quantity: 1 }, { sku: 'TEA-BLACK-250', quantity: 3 }], coupon: 'WELCOME10' } },
  { method: 'POST', path: '/orders', body: { customer: { id: 'c-7', email: 'ann@example.com', address: ADDRESS }, items: [{ sku: 'TEA-BLACK-250', quantity: 1 }] } },
  { method: 'POST', path: '/deliveries', body: { orderId: 'o-9', deliverOn: '2025-12-24', window: 'afternoon' } },
];

/** A request's answer. */
export interface Answer {
  readonly status: number;
  readonly body: unknown;
}

/** Sends one JSON request; a network failure is status 0. */
export async function send(baseUrl: string, method: 'GET' | 'POST', path: string, body?: unknown): Promise<Answer> {
  try {
    const response = await fetch(`${baseUrl}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON: keep the text
    }
    return { status: response.status, body: parsed };
  } catch {
    return { status: 0, body: null };
  }
}

/** Sends the request that trips `bug`. */
export function trip(baseUrl: string, bug: DemoBug): Promise<Answer> {
  return send(baseUrl, 'POST', bug.path, bug.body);
}

/** Counts of the load generator's answers. */
export interface TrafficStats {
  sent: number;
  ok: number;
  clientErrors: number;
  serverErrors: number;
  failed: number;
}

/**
 * A steady load of everyday requests (a few in flight) through the fleet's proxy, with the given
 * bugs' requests mixed in at `bugShare` — the customers who keep hitting the bug until it is
 * fixed. The canary judge needs this traffic: it promotes a stage only on enough canary requests.
 */
export class Traffic {
  readonly stats: TrafficStats = { sent: 0, ok: 0, clientErrors: 0, serverErrors: 0, failed: 0 };
  private running = false;
  private workers: Promise<void>[] = [];
  private bugs: DemoBug[] = [];

  constructor(
    private readonly baseUrl: string,
    private readonly options: { concurrency: number; bugShare: number; pauseMs: number },
  ) {}

  /** Starts the load (idempotent). */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.workers = Array.from({ length: this.options.concurrency }, (_, w) => this.worker(w));
  }

  /** From now on, the load also carries `bug`'s request. */
  include(bug: DemoBug): void {
    if (!this.bugs.includes(bug)) this.bugs.push(bug);
  }

  /** Stops the load and waits for the requests in flight. */
  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.workers);
  }

  private async worker(w: number): Promise<void> {
    let i = w;
    while (this.running) {
      i++;
      const bug = this.bugs.length > 0 && Math.random() < this.options.bugShare ? this.bugs[i % this.bugs.length] : undefined;
      const normal = NORMAL[i % NORMAL.length] as (typeof NORMAL)[number];
      const answer = bug ? await trip(this.baseUrl, bug) : await send(this.baseUrl, normal.method, normal.path, normal.body);
      this.stats.sent++;
      if (answer.status === 0) this.stats.failed++;
      else if (answer.status >= 500) this.stats.serverErrors++;
      else if (answer.status >= 400) this.stats.clientErrors++;
      else this.stats.ok++;
      if (this.options.pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, this.options.pauseMs));
    }
  }
}
