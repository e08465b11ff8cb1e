export function hostOf(link: string): string {
  const url = new URL(link);
  return url.hostname;
}
