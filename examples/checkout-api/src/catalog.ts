/** A product the shop sells. Prices are integer cents to avoid floating-point money. */
export interface Product {
  readonly sku: string;
  readonly name: string;
  readonly priceCents: number;
  /** Digital goods are delivered by e-mail and have no shipping cost. */
  readonly digital: boolean;
}

const PRODUCTS: readonly Product[] = [
  { sku: 'TEA-GREEN-100', name: 'Sencha green tea, 100 g', priceCents: 850, digital: false },
  { sku: 'TEA-BLACK-250', name: 'Assam black tea, 250 g', priceCents: 1290, digital: false },
  { sku: 'POT-CAST-IRON', name: 'Cast-iron teapot, 0.8 l', priceCents: 4500, digital: false },
  { sku: 'EBOOK-BREWING', name: 'The brewing guide (e-book)', priceCents: 999, digital: true },
];

const BY_SKU = new Map(PRODUCTS.map((p) => [p.sku, p]));

/** Every product, in catalogue order. */
export function listProducts(): readonly Product[] {
  return PRODUCTS;
}

/** The product with this SKU, or `undefined` when the shop does not sell it. */
export function findProduct(sku: string): Product | undefined {
  return BY_SKU.get(sku);
}

/** Coupon codes and the percentage they take off the subtotal. */
export const COUPONS: Readonly<Record<string, number>> = { WELCOME10: 10, TEATIME25: 25 };

/** VAT rate by destination country (ISO 3166 alpha-2). */
export const VAT_RATES: Readonly<Record<string, number>> = { DE: 0.19, FR: 0.2, NL: 0.21, IT: 0.22, ES: 0.21, AT: 0.2 };

/** Flat shipping by destination country, in cents; free above {@link FREE_SHIPPING_FROM_CENTS}. */
export const SHIPPING_CENTS: Readonly<Record<string, number>> = { DE: 490, AT: 690, NL: 690, FR: 890, IT: 990, ES: 990 };

export const FREE_SHIPPING_FROM_CENTS = 5000;
