import { randomUUID } from 'node:crypto';
import { COUPONS, FREE_SHIPPING_FROM_CENTS, SHIPPING_CENTS, VAT_RATES, findProduct } from './catalog';

/** A postal address. */
export interface Address {
  line1: string;
  city: string;
  postalCode: string;
  /** ISO 3166 alpha-2, e.g. `DE`. */
  country: string;
}

/** The buyer. */
export interface Customer {
  id: string;
  email: string;
  address: Address;
}

/** One line of a cart. */
export interface LineItem {
  sku: string;
  quantity: number;
}

/** `POST /quote`: what a cart costs before it is ordered. */
export interface QuoteRequest {
  items: LineItem[];
  coupon?: string;
}

/** `POST /orders`: a cart turned into an order. */
export interface OrderRequest extends QuoteRequest {
  customer: Customer;
  /** `delivery` (default) ships to the customer's address; `pickup` is collected in the shop. */
  fulfilment?: 'delivery' | 'pickup';
}

/** `POST /deliveries`: book a delivery slot for an order. */
export interface DeliveryRequest {
  orderId: string;
  /** The day the customer wants the parcel, as typed in the shop's form. */
  deliverOn: string;
  window?: 'morning' | 'afternoon';
}

export interface QuotedLine {
  sku: string;
  name: string;
  quantity: number;
  unitCents: number;
  totalCents: number;
}

export interface Quote {
  lines: QuotedLine[];
  subtotalCents: number;
  discountCents: number;
  totalCents: number;
  currency: 'EUR';
}

export interface Order extends Quote {
  orderId: string;
  customerId: string;
  country: string;
  shippingCents: number;
  vatCents: number;
  grandTotalCents: number;
}

export interface DeliverySlot {
  orderId: string;
  startsAt: string;
  endsAt: string;
}

/** A request the shop cannot serve as asked (unknown SKU, bad quantity, unknown coupon): HTTP 422. */
export class CheckoutError extends Error {
  override readonly name = 'CheckoutError';
  constructor(
    readonly code: 'UNKNOWN_SKU' | 'BAD_QUANTITY' | 'UNKNOWN_COUPON',
    message: string,
  ) {
    super(message);
  }
}

/** Prices a cart: each line, the subtotal, the coupon's discount and the total. */
export function quote(request: QuoteRequest): Quote {
  const lines = request.items.map(priceLine);
  const subtotalCents = lines.map((line) => line.totalCents).reduce((sum, cents) => sum + cents);
  const discountCents = request.coupon === undefined ? 0 : couponDiscount(request.coupon, subtotalCents);
  return { lines, subtotalCents, discountCents, totalCents: subtotalCents - discountCents, currency: 'EUR' };
}

/** Turns a cart into an order: prices it, adds shipping and VAT for the customer's country. */
export function placeOrder(request: OrderRequest): Order {
  const priced = quote(request);
  const country = request.customer.address.country.toUpperCase();
  const shipsSomething = priced.lines.some((line) => !findProduct(line.sku)?.digital);
  const pickup = request.fulfilment === 'pickup';
  const shippingCents = pickup || !shipsSomething || priced.totalCents >= FREE_SHIPPING_FROM_CENTS ? 0 : (SHIPPING_CENTS[country] ?? 1490);
  const vatCents = Math.round((priced.totalCents + shippingCents) * (VAT_RATES[country] ?? 0));
  return {
    ...priced,
    orderId: randomUUID(),
    customerId: request.customer.id,
    country,
    shippingCents,
    vatCents,
    grandTotalCents: priced.totalCents + shippingCents + vatCents,
  };
}

const WINDOWS = { morning: [8, 12], afternoon: [13, 18] } as const;

/** Books a delivery window on the requested day (UTC hours). */
export function scheduleDelivery(request: DeliveryRequest): DeliverySlot {
  const day = new Date(request.deliverOn);
  const [from, to] = WINDOWS[request.window ?? 'morning'];
  const startsAt = new Date(Date.UTC(day.getUTCFullYear(), day.getUTCMonth(), day.getUTCDate(), from));
  const endsAt = new Date(Date.UTC(day.getUTCFullYear(), day.getUTCMonth(), day.getUTCDate(), to));
  return { orderId: request.orderId, startsAt: startsAt.toISOString(), endsAt: endsAt.toISOString() };
}

function priceLine(item: LineItem): QuotedLine {
  const product = findProduct(item.sku);
  if (!product) throw new CheckoutError('UNKNOWN_SKU', `unknown sku "${item.sku}"`);
  if (!Number.isInteger(item.quantity) || item.quantity < 1 || item.quantity > 99) {
    throw new CheckoutError('BAD_QUANTITY', `quantity of ${item.sku} must be an integer from 1 to 99`);
  }
  return { sku: product.sku, name: product.name, quantity: item.quantity, unitCents: product.priceCents, totalCents: product.priceCents * item.quantity };
}

function couponDiscount(code: string, subtotalCents: number): number {
  const percent = COUPONS[code.toUpperCase()];
  if (percent === undefined) throw new CheckoutError('UNKNOWN_COUPON', `unknown coupon "${code}"`);
  return Math.round((subtotalCents * percent) / 100);
}
