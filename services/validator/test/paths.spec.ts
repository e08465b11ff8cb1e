import { checkPaths, filesOfDiff, globToRegExp, protectedKindOf } from '../src/domain/paths';

const policy = { allowedPaths: ['src/**'], forbiddenPaths: ['src/vendor/**'] };

describe('filesOfDiff', () => {
  it('lists the paths of a git diff, renames included, without a/ b/ prefixes', () => {
    const diff = ['diff --git a/src/a.js b/src/a.js', '--- a/src/a.js', '+++ b/src/a.js', '@@ -1 +1 @@', '-x', '+y', 'diff --git a/src/old.js b/src/new.js', 'rename from src/old.js', 'rename to src/new.js', ''].join('\n');
    expect(filesOfDiff(diff).paths.sort()).toEqual(['src/a.js', 'src/new.js', 'src/old.js']);
  });

  it('flags absolute, escaping and .git paths as unsafe', () => {
    const diff = ['--- /dev/null', '+++ b/../etc/passwd', '--- a/.git/config', '+++ /abs/file'].join('\n');
    expect(filesOfDiff(diff).unsafe.sort()).toEqual(['../etc/passwd', '.git/config', '/abs/file']);
  });
});

describe('checkPaths', () => {
  it('accepts source files under an allowed path', () => {
    expect(checkPaths(['src/cart.js', 'src/lib/tax.ts'], policy)).toEqual([]);
  });

  it('refuses paths outside the allowed paths and forbidden ones, with the reason', () => {
    expect(checkPaths(['README.md', 'src/vendor/x.js'], policy)).toEqual([
      { path: 'README.md', reason: 'matches none of the allowed path patterns (src/**)' },
      { path: 'src/vendor/x.js', reason: 'matches the forbidden path pattern "src/vendor/**"' },
    ]);
  });

  it('refuses tests, CI config, lockfiles and secrets even under a broad allowed path', () => {
    const broad = { allowedPaths: ['**'], forbiddenPaths: [] };
    const kinds = checkPaths(['src/cart.test.js', '.github/workflows/ci.yml', 'package-lock.json', '.env.production'], broad).map((v) => v.reason);
    expect(kinds).toEqual([
      expect.stringContaining('test file'),
      expect.stringContaining('CI configuration file'),
      expect.stringContaining('lockfile'),
      expect.stringContaining('secret or credentials file'),
    ]);
  });

  it('allows a protected kind when an allowed pattern names that kind explicitly', () => {
    expect(checkPaths(['test/cart.test.js'], { allowedPaths: ['src/**', 'test/**'], forbiddenPaths: [] })).toEqual([]);
  });

  it('always refuses a path escaping the repository', () => {
    expect(checkPaths(['../x.js'], { allowedPaths: ['**'], forbiddenPaths: [] })[0]?.reason).toBe('is outside the repository or inside .git');
  });
});

describe('globs', () => {
  it('match like .gitignore: ** spans directories, a bare name matches at any depth', () => {
    expect(globToRegExp('src/**').test('src/a/b.js')).toBe(true);
    expect(globToRegExp('src/*.js').test('src/a/b.js')).toBe(false);
    expect(globToRegExp('*.pem').test('deep/dir/key.pem')).toBe(true);
    expect(protectedKindOf('yarn.lock')).toBe('lockfile');
    expect(protectedKindOf('src/cart.js')).toBeUndefined();
  });
});
