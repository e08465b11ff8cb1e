export interface Line {
  product?: { price: number };
  qty: number;
}

export function subtotal(lines: Line[]): number {
  let sum = 0;
  for (const line of lines) {
    sum += line.product.price * line.qty;
  }
  return sum;
}
