export interface Order {
  shipping?: { address: { city: string } };
}

export function cityOf(order: Order): string {
  return order.shipping.address.city;
}
