export function cents(amountText: string): bigint {
  const amount = Number(amountText);
  return BigInt(Math.round(amount * 100));
}
