// eslint-disable-next-line @typescript-eslint/no-unused-vars -- the typo below is the bug this case is about
export function area(width: number, height: number): number {
  const result = width * heigth;
  return result;
}
