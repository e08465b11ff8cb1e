import { pathRefusal } from '@antibody/fix-kit';
import { decidePolicy } from '../src/domain/steps';

const policy = { allowedPaths: ['src/**'], forbiddenPaths: ['src/vendor/**'] };
const diffOf = (...files: string[]): string => files.map((f) => `diff --git a/${f} b/${f}\n--- a/${f}\n+++ b/${f}\n@@ -1 +1 @@\n-x\n+y\n`).join('');

describe('the validator\'s path policy (fix-kit\'s one dialect, on the paths parsePatch reads)', () => {
  it('given a git diff with a rename, then both names are checked', () => {
    const diff = ['diff --git a/src/old.js b/lib/new.js', 'similarity index 100%', 'rename from src/old.js', 'rename to lib/new.js', ''].join('\n');
    expect(decidePolicy(diff, policy)).toMatchObject({ stage: 'policy', violations: ['lib/new.js matches none of the allowed path patterns (src/**)'] });
  });

  it('refuses paths outside the allowed paths and forbidden ones, with the reason', () => {
    expect(decidePolicy(diffOf('README.md', 'src/vendor/x.js'), policy)).toMatchObject({
      violations: ['README.md matches none of the allowed path patterns (src/**)', 'src/vendor/x.js matches the forbidden path pattern "src/vendor/**"'],
    });
  });

  it('refuses tests, CI config, lockfiles and secrets even under a broad allowed path', () => {
    const broad = { allowedPaths: ['**'], forbiddenPaths: [] };
    const rejection = decidePolicy(diffOf('src/cart.test.js', '.github/workflows/ci.yml', 'package-lock.json', '.env.production'), broad);
    expect(rejection?.violations).toEqual([
      expect.stringContaining('test file'),
      expect.stringContaining('CI configuration file'),
      expect.stringContaining('lockfile'),
      expect.stringContaining('secret or credentials file'),
    ]);
  });

  it('always refuses a path escaping the repository or inside .git', () => {
    const diff = ['--- /dev/null', '+++ b/../etc/passwd', '--- a/.git/config', '+++ /abs/file', ''].join('\n');
    expect(decidePolicy(diff, { allowedPaths: ['**'], forbiddenPaths: [] })?.violations).toEqual([
      '../etc/passwd is outside the repository or inside .git',
      '.git/config is outside the repository or inside .git',
      '/abs/file is outside the repository or inside .git',
    ]);
  });

  it('given a diff whose hunk does not add up, then rejected at apply, saying why', () => {
    expect(decidePolicy('--- a/src/a.js\n+++ b/src/a.js\n@@ -1,3 +1,3 @@\n-a\nstray\n+b\n', policy)).toMatchObject({ stage: 'apply', reason: expect.stringMatching(/^The diff cannot be read \(.*invalid line/) });
  });

  it.each([
    // [policy, path]: the globs the patcher's and the validator's matchers used to read differently.
    [{ allowedPaths: ['*.ts'], forbiddenPaths: [] }, 'src/deep/a.ts'],
    [{ allowedPaths: ['*.ts'], forbiddenPaths: [] }, 'a.ts'],
    [{ allowedPaths: ['src/{a,b}.ts'], forbiddenPaths: [] }, 'src/b.ts'],
    [{ allowedPaths: ['src/**'], forbiddenPaths: ['src/{a,b}.ts'] }, 'src/a.ts'],
    [{ allowedPaths: ['src/**'], forbiddenPaths: [] }, 'src/.env'],
    [{ allowedPaths: [], forbiddenPaths: [] }, 'src/a.ts'],
    [{ allowedPaths: ['**'], forbiddenPaths: [] }, 'test/.env'],
  ])('decides %j for %s as the patcher does', (p, path) => {
    const patcher = pathRefusal(path, p);
    const validator = decidePolicy(diffOf(path), p)?.violations?.[0];
    expect(validator).toBe(patcher);
  });
});
