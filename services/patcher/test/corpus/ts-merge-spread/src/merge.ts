export function merge(a: number[], b?: number[]): number[] {
  const all = [...a, ...b];
  return all.sort((x, y) => x - y);
}
