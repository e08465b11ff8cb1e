// A real bug: a line item whose product was deleted has no `product`.
export interface LineItem {
  product?: { price: number };
  quantity: number;
}

export function total(items: LineItem[]): number {
  return items.reduce((sum, item) => sum + item.product!.price * item.quantity, 0);
}
