export function parsePayload(body: string): Record<string, unknown> | null {
  return JSON.parse(body);
}
