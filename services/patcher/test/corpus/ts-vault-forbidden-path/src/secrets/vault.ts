export function secretFor(store: Map<string, { value: string }>, key: string): string {
  const entry = store.get(key);
  return entry.value;
}
