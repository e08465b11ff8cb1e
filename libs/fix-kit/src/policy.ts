/** Which repository paths a patch may touch (a service's policy, see `ServiceRegistered.policy`). */
export interface PathPolicy {
  readonly allowedPaths: readonly string[];
  readonly forbiddenPaths: readonly string[];
}

/**
 * Paths no patch touches unless an allowed pattern targets them explicitly (one that is itself a
 * protected path, such as `test/fixtures/**`; `**` or `src/**` do not count): tests, CI
 * configuration, lockfiles and secrets.
 */
export const PROTECTED_PATHS: readonly string[] = [
  '**/*.test.*', '**/*.spec.*', 'test/**', 'tests/**', '**/test/**', '**/tests/**', '**/__tests__/**',
  '.github/**', '.gitlab-ci.yml', '.circleci/**', 'Jenkinsfile',
  '**/package-lock.json', '**/yarn.lock', '**/pnpm-lock.yaml', '**/npm-shrinkwrap.json',
  '**/.env', '**/.env.*', '**/*.pem', '**/*.key', '**/secrets/**', '**/*secret*',
];

const CATCH_ALL = new Set(['**', '**/*', '*', './**']);

/** Compiles a glob (`**` any depth, `*` within a segment, `?` one character) to an anchored expression. */
export function globToRegExp(glob: string): RegExp {
  let out = '';
  const g = glob.replace(/^\.\//, '');
  for (let i = 0; i < g.length; i++) {
    const c = g[i]!;
    if (c === '*' && g[i + 1] === '*') {
      const slash = g[i + 2] === '/';
      out += slash ? '(?:.*/)?' : '.*';
      i += slash ? 2 : 1;
    } else if (c === '*') out += '[^/]*';
    else if (c === '?') out += '[^/]';
    else out += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${out}$`);
}

function matchesAny(path: string, globs: readonly string[]): boolean {
  return globs.some((g) => globToRegExp(g).test(path));
}

/**
 * Why `path` may not be patched under `policy`, or undefined when it may. Forbidden wins over
 * allowed; protected paths need an explicit (non catch-all) allowed pattern; an empty allowed
 * list allows everything else. Paths with `..` or absolute paths are always refused.
 */
export function pathRefusal(path: string, policy: PathPolicy): string | undefined {
  const p = path.replace(/\\/g, '/');
  if (p.startsWith('/') || p.split('/').includes('..')) return `${path} is outside the repository`;
  if (matchesAny(p, policy.forbiddenPaths)) return `${path} matches a forbidden path of the service's policy`;
  // Only an allowed pattern that itself targets protected files (e.g. `test/fixtures/**`) opens them; `src/**` does not open `src/a.test.ts`.
  const explicit = policy.allowedPaths.filter((g) => !CATCH_ALL.has(g) && matchesAny(g, PROTECTED_PATHS));
  if (matchesAny(p, PROTECTED_PATHS) && !matchesAny(p, explicit)) return `${path} is a protected path (tests, CI, lockfiles, secrets)`;
  if (policy.allowedPaths.length > 0 && !matchesAny(p, policy.allowedPaths)) return `${path} is not among the service's allowed paths`;
  return undefined;
}
