export function toLogLine(event: Record<string, unknown>): string {
  return JSON.stringify(event);
}
