export function countFields(record?: Record<string, unknown> | null): number {
  return Object.keys(record).length;
}
