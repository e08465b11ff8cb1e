// The order-worker example's latent bugs, for Antibody's own specs, the demo and the heal bench:
// the plausible job that trips each, what it throws, and the source line at fault.
const customer = { id: 'c-5', email: 'eve@example.com', notifications: { email: true } };

/** The latent bugs: a `fulfil-order` job payload that trips each, and what it throws. */
export const ORDER_WORKER_BUGS = [
  {
    name: 'quantity typed with a decimal comma',
    payload: { orderId: 'o-3001', lines: [{ sku: 'TEA-LOOSE-KG', quantity: '0,5', unitPriceCents: 3200, weightGrams: 1000 }], customer },
    error: RangeError,
    message: 'The number NaN cannot be converted to a BigInt because it is not an integer',
    function: 'invoice',
    line: 'BigInt(totalCents)',
  },
  {
    name: 'gift options that are not JSON',
    payload: { orderId: 'o-3002', lines: [{ sku: 'TEA-GREEN-100', quantity: 1, unitPriceCents: 850, weightGrams: 120 }], customer, giftOptions: 'wrap it please' },
    error: SyntaxError,
    message: 'Unexpected token',
    function: 'giftOptions',
    line: 'JSON.parse(payload.giftOptions)',
  },
  {
    name: 'customer without notification preferences',
    payload: { orderId: 'o-3003', lines: [{ sku: 'TEA-GREEN-100', quantity: 1, unitPriceCents: 850, weightGrams: 120 }], customer: { id: 'c-6', email: 'mo@example.com' } },
    error: TypeError,
    message: "Cannot read properties of undefined (reading 'email')",
    function: 'notificationTargets',
    line: 'if (prefs.email)',
  },
] as const;
