// The checkout-api example's latent bugs, for Antibody's own specs, the demo and the heal bench:
// the plausible request that trips each, what it throws, and the source line at fault.
import { placeOrder, quote, scheduleDelivery, type OrderRequest } from '../src/checkout';

/** The latent bugs: the request that trips each, and what it throws. */
export const CHECKOUT_BUGS = [
  {
    name: 'empty cart',
    path: '/quote',
    body: { items: [] },
    error: TypeError,
    message: 'Reduce of empty array with no initial value',
    line: '.reduce((sum, cents) => sum + cents)',
    run: () => quote({ items: [] }),
  },
  {
    name: 'pickup order without an address',
    path: '/orders',
    body: { customer: { id: 'c-42', email: 'pickup@example.com' }, fulfilment: 'pickup', items: [{ sku: 'TEA-GREEN-100', quantity: 1 }] },
    error: TypeError,
    message: "Cannot read properties of undefined (reading 'country')",
    line: 'request.customer.address.country',
    run: () => placeOrder({ customer: { id: 'c-42', email: 'pickup@example.com' }, fulfilment: 'pickup', items: [{ sku: 'TEA-GREEN-100', quantity: 1 }] } as unknown as OrderRequest),
  },
  {
    name: 'day-first delivery date',
    path: '/deliveries',
    body: { orderId: 'o-1', deliverOn: '24/12/2025' },
    error: RangeError,
    message: 'Invalid time value',
    line: 'startsAt.toISOString()',
    run: () => scheduleDelivery({ orderId: 'o-1', deliverOn: '24/12/2025' }),
  },
] as const;
