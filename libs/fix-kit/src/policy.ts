import picomatch from 'picomatch';

/**
 * Which repository paths a patch may touch: a service's policy (see `ServiceRegistered.policy`),
 * one dialect of globs for every service that reads it (the patcher before it proposes, the
 * validator before it runs anything). Pure.
 *
 * Glob semantics (picomatch, documented in docs/security.md):
 * - paths are relative to the repository root, `/`-separated;
 * - `*` matches within one path segment, never across `/`; `?` is one character of a segment;
 *   `[abc]` a class; `**` as a whole segment matches any number of segments, none included;
 * - `{a,b}` alternates and `{1..3}` ranges, as in bash; bash extglobs (`@(a|b)`, `!(x)`) work;
 * - dotfiles are ordinary files: `*` and `**` match `.env` and `.github/`;
 * - a glob without `/` matches a file name at any depth (`*.pem`, `.env`), like .gitignore; a
 *   leading `/` anchors it at the root instead (`/README.md`); a leading `./` is ignored; a trailing
 *   `/` means everything under that directory (`src/` is `src/**`);
 * - a leading `!` is a literal character, not a negation: a list's meaning never flips;
 * - matching is case-sensitive.
 */

/** The part of a service's policy about paths. */
export interface PathPolicy {
  readonly allowedPaths: readonly string[];
  readonly forbiddenPaths: readonly string[];
}

/** Kinds of paths no patch touches unless the policy allows that kind explicitly. */
export type ProtectedKind = 'test' | 'ci-config' | 'lockfile' | 'secret';

/**
 * The protected paths by kind: tests, CI configuration, lockfiles, secrets. A path of one of
 * these kinds is refused unless an allowed pattern that matches it targets that kind itself
 * (`test/**` or `test/fixtures/**` open tests; `**` or `src/**` do not open `src/a.test.ts`).
 */
export const PROTECTED_PATHS: Readonly<Record<ProtectedKind, readonly string[]>> = {
  test: ['*.{test,spec}.*', '**/__tests__/**', '**/test/**', '**/tests/**', 'jest.config.*', 'vitest.config.*', '.mocharc*'],
  'ci-config': ['.github/**', '.gitlab-ci.yml', '.circleci/**', 'Jenkinsfile', 'azure-pipelines.yml', '.travis.yml', '.buildkite/**', '.drone.yml'],
  lockfile: ['package-lock.json', 'npm-shrinkwrap.json', 'yarn.lock', 'pnpm-lock.yaml', 'bun.lockb', 'bun.lock', 'poetry.lock', 'Pipfile.lock', 'Cargo.lock', 'go.sum', 'Gemfile.lock', 'composer.lock'],
  secret: ['.env', '.env.*', '*.pem', '*.key', '*.p12', '*.pfx', 'id_rsa*', '.npmrc', '.pypirc', '.netrc', '**/secrets/**', '*secret*', '*credentials*'],
};

const KINDS = Object.keys(PROTECTED_PATHS) as ProtectedKind[];

const OPTIONS: picomatch.PicomatchOptions = { dot: true, nonegate: true, windows: false };
const compiled = new Map<string, (path: string) => boolean>();

/** The glob as picomatch reads it under the semantics above. */
function normalGlob(glob: string): string {
  let g = glob.replace(/\\/g, '/').replace(/^\.\//, '');
  if (g.endsWith('/')) g = `${g}**`;
  if (g.startsWith('/')) return g.replace(/^\/+/, '');
  return g.includes('/') ? g : `**/${g}`;
}

/** A repository path as the globs see it: `/`-separated, without a leading `./`. */
function normalPath(path: string): string {
  return path.replace(/\\/g, '/').replace(/^(\.\/)+/, '');
}

/**
 * Whether `path` (relative to the repository root) matches `glob`, under the semantics in this
 * module's comment. The one glob matcher of every service's path policy. Never throws: a glob
 * picomatch cannot compile matches nothing.
 */
export function matchesGlob(path: string, glob: string): boolean {
  let match = compiled.get(glob);
  if (!match) {
    try {
      match = picomatch(normalGlob(glob), OPTIONS);
    } catch {
      match = () => false;
    }
    compiled.set(glob, match);
  }
  return match(normalPath(path));
}

/** The first of `globs` that `path` matches, if any. */
export function firstMatch(path: string, globs: readonly string[]): string | undefined {
  return globs.find((g) => matchesGlob(path, g));
}

/** Absolute, escaping (`..`) or inside `.git`: never a path a patch may write. */
export function isUnsafePath(path: string): boolean {
  const p = path.replace(/\\/g, '/');
  return p.startsWith('/') || /^[A-Za-z]:/.test(p) || p.split('/').some((part) => part === '..') || /(^|\/)\.git(\/|$)/.test(p);
}

/** The protected kinds a path belongs to (`test/.env` is a test file and a secret), empty for none. */
export function protectedKindsOf(path: string): ProtectedKind[] {
  return KINDS.filter((kind) => firstMatch(path, PROTECTED_PATHS[kind]) !== undefined);
}

/** One path a patch may not touch, and why (a phrase that follows the path). */
export interface PathViolation {
  readonly path: string;
  readonly reason: string;
}

/**
 * Checks every path of a patch against the policy, in this order: a path that is absolute, has
 * `..` or lies in `.git` is always refused; a path matching `forbiddenPaths` is refused (forbidden
 * wins); a test, CI configuration, lockfile or secret is refused unless, for each of its kinds, an
 * allowed pattern that matches it targets that kind itself; a path matching no `allowedPaths` pattern is refused (an
 * empty list allows nothing: `**` allows everything but the protected kinds). Returns the
 * violations, empty when the patch may proceed.
 */
export function checkPaths(paths: readonly string[], policy: PathPolicy): PathViolation[] {
  const violations: PathViolation[] = [];
  for (const path of paths) {
    const reason = violationOf(path, policy);
    if (reason !== undefined) violations.push({ path, reason });
  }
  return violations;
}

/**
 * Why `path` may not be patched under `policy` (`<path> <reason>`, see {@link checkPaths}), or
 * undefined when it may.
 */
export function pathRefusal(path: string, policy: PathPolicy): string | undefined {
  const reason = violationOf(path, policy);
  return reason === undefined ? undefined : `${path} ${reason}`;
}

function violationOf(path: string, policy: PathPolicy): string | undefined {
  if (isUnsafePath(path)) return 'is outside the repository or inside .git';
  const forbidden = firstMatch(path, policy.forbiddenPaths);
  if (forbidden !== undefined) return `matches the forbidden path pattern "${forbidden}"`;
  const allowing = policy.allowedPaths.filter((g) => matchesGlob(path, g));
  // A pattern "targets" a kind when, read as a path, it is of that kind: `test/**` is, `**` is not.
  const kind = protectedKindsOf(path).find((k) => !allowing.some((g) => protectedKindsOf(g).includes(k)));
  if (kind !== undefined) {
    return `is a protected path (${describeKind(kind)}), which patches may not change unless an allowed path pattern targets ${describeKind(kind)}s itself`;
  }
  if (allowing.length === 0) return `matches none of the allowed path patterns (${policy.allowedPaths.join(', ') || 'none'})`;
  return undefined;
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
