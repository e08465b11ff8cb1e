import { readFileSync } from 'node:fs';

export function loadBanner(path: string): string {
  const text = readFileSync(path, 'utf8');
  return text.trim();
}
