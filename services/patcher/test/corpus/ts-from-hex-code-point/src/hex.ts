export function fromHex(hex: string): string {
  const code = parseInt(hex, 16);
  return String.fromCodePoint(code);
}
