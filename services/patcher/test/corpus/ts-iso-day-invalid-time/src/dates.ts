export function isoDay(input: string): string {
  return new Date(input).toISOString().slice(0, 10);
}
