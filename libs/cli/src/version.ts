import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The version of the `@antibody/cli` package this program runs from (its package.json, next to src/ and dist/). */
export function cliVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}
