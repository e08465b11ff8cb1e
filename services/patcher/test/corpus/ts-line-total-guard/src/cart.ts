export interface Item {
  price?: { amount: number };
  qty: number;
}

export function lineTotal(item: Item): number {
  const amount = item.price.amount;
  return amount * item.qty;
}
