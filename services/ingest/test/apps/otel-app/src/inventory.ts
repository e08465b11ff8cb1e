// A real bug: reserving more than is in stock divides by a missing warehouse's capacity.
export interface Warehouse {
  capacity: { units: number };
}

export function utilisation(warehouses: Map<string, Warehouse>, id: string, reserved: number): number {
  const warehouse = warehouses.get(id);
  return reserved / warehouse!.capacity.units;
}
