'use strict';

const { fulfil, giftOptions, invoice, notificationTargets, planParcels, MAX_PARCEL_GRAMS } = require('../src/orders');

const order = () => ({
  orderId: 'o-1001',
  currency: 'EUR',
  lines: [
    { sku: 'TEA-GREEN-100', quantity: 2, unitPriceCents: 850, weightGrams: 120 },
    { sku: 'POT-CAST-IRON', quantity: 1, unitPriceCents: 4500, weightGrams: 1400 },
  ],
  customer: { id: 'c-1', email: 'ada@example.com', notifications: { email: true, sms: '+4915100000000' } },
  giftOptions: '{"wrap":true,"message":"Happy birthday"}',
});

describe('invoice', () => {
  it('prices each line and totals the order in minor units', () => {
    const result = invoice(order());
    expect(result.lines.map((l) => l.amountCents)).toEqual([1700, 4500]);
    expect(result.totalMinor).toBe(6200n);
  });

  it('defaults the currency to EUR', () => {
    expect(invoice({ ...order(), currency: undefined }).currency).toBe('EUR');
  });
});

describe('planParcels', () => {
  it('packs a light order into one parcel, packaging included', () => {
    expect(planParcels(order())).toEqual([{ parcel: 1, of: 1, weightGrams: 240 + 1400 + 150 }]);
  });

  it('splits a heavy order into parcels of at most 5 kg', () => {
    const heavy = { ...order(), lines: [{ sku: 'POT-CAST-IRON', quantity: 5, unitPriceCents: 4500, weightGrams: 1400 }] };
    const parcels = planParcels(heavy);
    expect(parcels).toHaveLength(2);
    expect(parcels[0].weightGrams).toBe(MAX_PARCEL_GRAMS);
    expect(parcels[1].weightGrams).toBe(7000 + 150 - MAX_PARCEL_GRAMS);
  });
});

describe('giftOptions', () => {
  it('reads the JSON options', () => {
    expect(giftOptions(order())).toEqual({ wrap: true, message: 'Happy birthday' });
  });

  it('means no gift when absent', () => {
    expect(giftOptions({ ...order(), giftOptions: undefined })).toEqual({ wrap: false, message: '' });
  });
});

describe('notificationTargets', () => {
  it('notifies by e-mail and SMS as chosen', () => {
    expect(notificationTargets(order())).toEqual([
      { channel: 'email', to: 'ada@example.com' },
      { channel: 'sms', to: '+4915100000000' },
    ]);
  });

  it('skips channels the customer turned off', () => {
    const quiet = { ...order(), customer: { id: 'c-2', email: 'b@example.com', notifications: { email: false } } };
    expect(notificationTargets(quiet)).toEqual([]);
  });
});

describe('fulfil', () => {
  it('puts invoice, parcels, gift and notifications together', () => {
    const result = fulfil(order());
    expect(result.invoice.totalMinor).toBe(6200n);
    expect(result.parcels).toHaveLength(1);
    expect(result.gift.wrap).toBe(true);
    expect(result.notify).toHaveLength(2);
  });
});
