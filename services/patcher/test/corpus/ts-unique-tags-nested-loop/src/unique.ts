export function uniqueTags(lists: Array<string[] | undefined>): string[] {
  const seen = new Set<string>();
  for (const list of lists) {
    for (const tag of list) seen.add(tag);
  }
  return [...seen];
}
