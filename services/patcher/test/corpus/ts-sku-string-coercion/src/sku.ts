export function normaliseSku(sku: string): string {
  return sku.toUpperCase().trim();
}
