/**
 * Which files a patch touches and whether the service's policy lets it touch them. Pure.
 */
import type { ServicePolicy } from '@antibody/contracts';

/** The paths one unified diff touches (old and new names of renames both count). */
export interface DiffFiles {
  readonly paths: readonly string[];
  /** Paths the diff names in a form that is never acceptable (absolute, `..`, `.git/`). */
  readonly unsafe: readonly string[];
}

/**
 * Lists the files a unified diff (git or plain) touches, from its `diff --git`, `---`/`+++`,
 * `rename from/to` and `copy from/to` lines. `/dev/null` is ignored; `a/` and `b/` prefixes are
 * removed; a quoted git path is unquoted.
 */
export function filesOfDiff(diff: string): DiffFiles {
  const paths = new Set<string>();
  for (const line of diff.split('\n')) {
    let raw: string | undefined;
    const header = /^diff --git (\S+|"[^"]*") (\S+|"[^"]*")\s*$/.exec(line);
    if (header) {
      add(paths, stripPrefix(unquote(header[1] ?? '')));
      raw = stripPrefix(unquote(header[2] ?? ''));
    } else if (line.startsWith('--- ') || line.startsWith('+++ ')) {
      raw = stripPrefix(unquote(line.slice(4).split('\t')[0]?.trim() ?? ''));
    } else {
      const rename = /^(?:rename|copy) (?:from|to) (.+)$/.exec(line);
      if (rename) raw = unquote(rename[1] ?? '');
    }
    if (raw !== undefined) add(paths, raw);
  }
  const all = [...paths];
  return { paths: all, unsafe: all.filter(isUnsafePath) };
}

function add(paths: Set<string>, path: string): void {
  if (path !== '' && path !== '/dev/null') paths.add(path);
}

function unquote(value: string): string {
  return value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1).replace(/\\(.)/g, '$1') : value;
}

function stripPrefix(path: string): string {
  return /^[ab]\//.test(path) ? path.slice(2) : path;
}

/** Absolute, escaping (`..`) or inside `.git`: never a path a patch may write. */
export function isUnsafePath(path: string): boolean {
  return path.startsWith('/') || path.split('/').some((part) => part === '..') || /(^|\/)\.git(\/|$)/.test(path);
}

/**
 * Compiles a glob: `**` spans directories, `*` and `?` stay within one path segment, `{a,b}`
 * alternates. A pattern without `/` matches at any depth (like .gitignore).
 */
export function globToRegExp(glob: string): RegExp {
  const anchored = glob.includes('/') ? glob.replace(/^\//, '') : `**/${glob}`;
  let out = '';
  for (let i = 0; i < anchored.length; i++) {
    const c = anchored[i] as string;
    if (c === '*') {
      if (anchored[i + 1] === '*') {
        const slash = anchored[i + 2] === '/';
        out += slash ? '(?:.*/)?' : '.*';
        i += slash ? 2 : 1;
      } else out += '[^/]*';
    } else if (c === '?') out += '[^/]';
    else if (c === '{') {
      const end = anchored.indexOf('}', i);
      if (end < 0) out += '\\{';
      else {
        out += `(?:${anchored.slice(i + 1, end).split(',').map(escape).join('|')})`;
        i = end;
      }
    } else out += escape(c);
  }
  return new RegExp(`^${out}$`);
}

function escape(text: string): string {
  return text.replace(/[.+^${}()|[\]\\]/g, '\\$&');
}

/** Whether `path` matches any of the globs. */
export function matchesAny(path: string, globs: readonly string[]): boolean {
  return globs.some((g) => globToRegExp(g).test(path));
}

/** Kinds of paths a patch never touches unless the policy allows that kind explicitly. */
export type ProtectedKind = 'test' | 'ci-config' | 'lockfile' | 'secret';

const PROTECTED: ReadonlyArray<readonly [ProtectedKind, readonly string[]]> = [
  ['test', ['**/*.{test,spec}.{js,jsx,ts,tsx,mjs,cjs,mts,cts}', '**/__tests__/**', 'test/**', 'tests/**', '**/test/**', '**/tests/**', 'jest.config.*', 'vitest.config.*', '.mocharc*']],
  ['ci-config', ['.github/**', '.gitlab-ci.yml', '.circleci/**', 'Jenkinsfile', 'azure-pipelines.yml', '.travis.yml', '.buildkite/**', '.drone.yml']],
  ['lockfile', ['package-lock.json', 'npm-shrinkwrap.json', 'yarn.lock', 'pnpm-lock.yaml', 'bun.lockb', 'poetry.lock', 'Pipfile.lock', 'Cargo.lock', 'go.sum', 'Gemfile.lock', 'composer.lock']],
  ['secret', ['.env', '.env.*', '*.pem', '*.key', '*.p12', '*.pfx', 'id_rsa*', '.npmrc', '.pypirc', '.netrc', '**/secrets/**', '*secret*', '*credentials*']],
];

/** The protected kind a path belongs to, if any. */
export function protectedKindOf(path: string): ProtectedKind | undefined {
  for (const [kind, globs] of PROTECTED) if (matchesAny(path, globs)) return kind;
  return undefined;
}

/** The part of a service's policy about paths. */
export type PathPolicy = Pick<ServicePolicy, 'allowedPaths' | 'forbiddenPaths'>;

/** One path a patch may not touch, and why. */
export interface PathViolation {
  readonly path: string;
  readonly reason: string;
}

/**
 * Checks every path of a patch against the policy: unsafe paths are always refused; a path
 * matching `forbiddenPaths` is refused; a path matching no `allowedPaths` pattern is refused; a
 * test, CI config, lockfile or secret is refused unless an allowed pattern that matches it names
 * that kind itself (e.g. `test/**` allows tests, `src/**` does not allow `src/a.test.ts`).
 * Returns the violations, empty when the patch may proceed.
 */
export function checkPaths(paths: readonly string[], policy: PathPolicy): PathViolation[] {
  const violations: PathViolation[] = [];
  for (const path of paths) {
    if (isUnsafePath(path)) {
      violations.push({ path, reason: 'is outside the repository or inside .git' });
      continue;
    }
    const forbidden = policy.forbiddenPaths.find((g) => globToRegExp(g).test(path));
    if (forbidden !== undefined) {
      violations.push({ path, reason: `matches the forbidden path pattern "${forbidden}"` });
      continue;
    }
    const allowing = policy.allowedPaths.filter((g) => globToRegExp(g).test(path));
    if (allowing.length === 0) {
      violations.push({ path, reason: `matches none of the allowed path patterns (${policy.allowedPaths.join(', ') || 'none'})` });
      continue;
    }
    const kind = protectedKindOf(path);
    if (kind !== undefined && !allowing.some((g) => protectedKindOf(g) === kind)) {
      violations.push({ path, reason: `is a ${describeKind(kind)}, which patches may not change unless the policy allows ${describeKind(kind)}s explicitly` });
    }
  }
  return violations;
}

function describeKind(kind: ProtectedKind): string {
  switch (kind) {
    case 'test':
      return 'test file';
    case 'ci-config':
      return 'CI configuration file';
    case 'lockfile':
      return 'lockfile';
    case 'secret':
      return 'secret or credentials file';
    default: {
      const unreachable: never = kind;
      return String(unreachable);
    }
  }
}
