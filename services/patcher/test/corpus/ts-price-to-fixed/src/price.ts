export function formatPrice(amount: number, digits: number): string {
  return amount.toFixed(digits);
}
