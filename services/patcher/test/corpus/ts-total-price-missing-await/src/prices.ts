async function fetchPrices(): Promise<number[]> {
  return [1, 2, 3];
}

export async function totalPrice(): Promise<number> {
  const prices = fetchPrices();
  return prices.reduce((a, b) => a + b, 0);
}
