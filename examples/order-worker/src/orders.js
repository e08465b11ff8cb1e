'use strict';

/**
 * Fulfilment of one order: the invoice, the parcels, the gift options and who to notify.
 * Each function takes the job's payload as the storefront sent it:
 *
 *   {
 *     orderId: 'o-1001',
 *     currency: 'EUR',
 *     lines: [{ sku: 'TEA-GREEN-100', quantity: 2, unitPriceCents: 850, weightGrams: 120 }],
 *     customer: { id: 'c-1', email: 'ada@example.com', notifications: { email: true, sms: '+49…' } },
 *     giftOptions: '{"wrap":true,"message":"Happy birthday"}'   // JSON text, optional
 *   }
 */

const MAX_PARCEL_GRAMS = 5000;
const PACKAGING_GRAMS = 150;

/** The invoice of an order: its lines and total in minor units (BigInt, as the ledger stores them). */
function invoice(payload) {
  const lines = payload.lines.map((line) => ({
    sku: line.sku,
    quantity: line.quantity,
    amountCents: line.quantity * line.unitPriceCents,
  }));
  const totalCents = lines.reduce((sum, line) => sum + line.amountCents, 0);
  return {
    orderId: payload.orderId,
    currency: payload.currency || 'EUR',
    lines,
    totalMinor: BigInt(totalCents),
  };
}

/** Splits an order into parcels of at most 5 kg each, packaging included. */
function planParcels(payload) {
  const grams = payload.lines.reduce((sum, line) => sum + line.quantity * (line.weightGrams || 0), 0);
  const count = Math.max(1, Math.ceil((grams + PACKAGING_GRAMS) / MAX_PARCEL_GRAMS));
  const parcels = [];
  let left = grams + PACKAGING_GRAMS;
  for (let i = 1; i <= count; i++) {
    const weight = Math.min(left, MAX_PARCEL_GRAMS);
    parcels.push({ parcel: i, of: count, weightGrams: weight });
    left -= weight;
  }
  return parcels;
}

/** The gift options sent with the order (a JSON text in the payload), or none. */
function giftOptions(payload) {
  if (payload.giftOptions === undefined) return { wrap: false, message: '' };
  const options = JSON.parse(payload.giftOptions);
  return { wrap: Boolean(options.wrap), message: String(options.message || '').slice(0, 200) };
}

/** Where to tell the customer the order shipped: e-mail and/or SMS, as they chose. */
function notificationTargets(payload) {
  const prefs = payload.customer.notifications;
  const targets = [];
  if (prefs.email) targets.push({ channel: 'email', to: payload.customer.email });
  if (prefs.sms) targets.push({ channel: 'sms', to: prefs.sms });
  return targets;
}

/** Everything the warehouse and the mailer need for one order. */
function fulfil(payload) {
  return {
    invoice: invoice(payload),
    parcels: planParcels(payload),
    gift: giftOptions(payload),
    notify: notificationTargets(payload),
  };
}

module.exports = { invoice, planParcels, giftOptions, notificationTargets, fulfil, MAX_PARCEL_GRAMS };
