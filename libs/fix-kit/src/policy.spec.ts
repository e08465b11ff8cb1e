import { globToRegExp, pathRefusal } from './policy';

describe('path policy', () => {
  it('matches globs with ** across directories and * within one', () => {
    expect(globToRegExp('src/**').test('src/a/b.ts')).toBe(true);
    expect(globToRegExp('src/*.ts').test('src/a/b.ts')).toBe(false);
    expect(globToRegExp('**/*.test.*').test('a/b.test.js')).toBe(true);
    expect(globToRegExp('**/*.test.*').test('b.test.js')).toBe(true);
  });

  it('refuses forbidden paths, protected paths (tests, CI, lockfiles, secrets) and paths outside allowed ones', () => {
    const p = { allowedPaths: ['src/**', 'test/fixtures/**'], forbiddenPaths: ['src/vendor/**'] };
    expect(pathRefusal('src/a.ts', p)).toBeUndefined();
    expect(pathRefusal('src/vendor/x.ts', p)).toMatch(/forbidden/);
    expect(pathRefusal('src/a.test.ts', p)).toMatch(/protected/);
    expect(pathRefusal('test/fixtures/data.ts', p)).toBeUndefined();
    expect(pathRefusal('package-lock.json', { allowedPaths: ['**'], forbiddenPaths: [] })).toMatch(/protected/);
    expect(pathRefusal('.github/workflows/ci.yml', { allowedPaths: [], forbiddenPaths: [] })).toMatch(/protected/);
    expect(pathRefusal('lib/a.ts', p)).toMatch(/not among the service's allowed paths/);
    expect(pathRefusal('../a.ts', p)).toMatch(/outside/);
  });
});
