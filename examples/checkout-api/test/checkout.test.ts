import { CheckoutError, placeOrder, quote, scheduleDelivery } from '../src/checkout';

const address = { line1: 'Teestraße 1', city: 'Berlin', postalCode: '10115', country: 'de' };
const customer = { id: 'c-1', email: 'ada@example.com', address };

describe('quote', () => {
  it('prices each line and sums the subtotal', () => {
    const result = quote({ items: [{ sku: 'TEA-GREEN-100', quantity: 2 }, { sku: 'POT-CAST-IRON', quantity: 1 }] });
    expect(result.lines.map((l) => l.totalCents)).toEqual([1700, 4500]);
    expect(result.subtotalCents).toBe(6200);
    expect(result.totalCents).toBe(6200);
  });

  it('takes a coupon off the subtotal, whatever its case', () => {
    const result = quote({ items: [{ sku: 'TEA-BLACK-250', quantity: 4 }], coupon: 'welcome10' });
    expect(result.discountCents).toBe(516);
    expect(result.totalCents).toBe(4644);
  });

  it('refuses an unknown sku, a bad quantity and an unknown coupon', () => {
    expect(() => quote({ items: [{ sku: 'NOPE', quantity: 1 }] })).toThrow(CheckoutError);
    expect(() => quote({ items: [{ sku: 'TEA-GREEN-100', quantity: 0 }] })).toThrow(/quantity/);
    expect(() => quote({ items: [{ sku: 'TEA-GREEN-100', quantity: 1 }], coupon: 'FREE' })).toThrow(/coupon/);
  });
});

describe('placeOrder', () => {
  it('adds shipping and VAT for the destination country', () => {
    const order = placeOrder({ customer, items: [{ sku: 'TEA-GREEN-100', quantity: 1 }] });
    expect(order.country).toBe('DE');
    expect(order.shippingCents).toBe(490);
    expect(order.vatCents).toBe(Math.round((850 + 490) * 0.19));
    expect(order.grandTotalCents).toBe(850 + 490 + order.vatCents);
  });

  it('ships for free from 50 euros and never charges shipping for e-books only', () => {
    expect(placeOrder({ customer, items: [{ sku: 'POT-CAST-IRON', quantity: 2 }] }).shippingCents).toBe(0);
    expect(placeOrder({ customer, items: [{ sku: 'EBOOK-BREWING', quantity: 1 }] }).shippingCents).toBe(0);
  });

  it('charges no shipping for a pickup order', () => {
    expect(placeOrder({ customer, fulfilment: 'pickup', items: [{ sku: 'TEA-GREEN-100', quantity: 1 }] }).shippingCents).toBe(0);
  });
});

describe('scheduleDelivery', () => {
  it('books the morning window by default', () => {
    expect(scheduleDelivery({ orderId: 'o-1', deliverOn: '2025-12-22' })).toEqual({
      orderId: 'o-1',
      startsAt: '2025-12-22T08:00:00.000Z',
      endsAt: '2025-12-22T12:00:00.000Z',
    });
  });

  it('books the afternoon window when asked', () => {
    expect(scheduleDelivery({ orderId: 'o-2', deliverOn: '2025-12-23', window: 'afternoon' }).startsAt).toBe('2025-12-23T13:00:00.000Z');
  });
});
