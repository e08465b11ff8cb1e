export function makeSlots(count: number): string[] {
  const slots = new Array(count);
  return slots.fill('free');
}
