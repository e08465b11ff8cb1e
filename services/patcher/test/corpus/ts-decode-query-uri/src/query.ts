export function decodeQuery(value: string): string {
  const decoded = decodeURIComponent(value);
  return decoded.replace(/\+/g, ' ');
}
