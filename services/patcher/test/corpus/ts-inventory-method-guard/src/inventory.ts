export class Inventory {
  private stock = new Map<string, { count: number }>();

  add(sku: string, count: number): void {
    this.stock.set(sku, { count });
  }

  available(sku: string): number {
    const entry = this.stock.get(sku);
    return entry.count;
  }
}
