import { checkPaths, isUnsafePath, matchesGlob, pathRefusal, protectedKindsOf } from './policy';

describe('path policy globs (one dialect for the patcher and the validator)', () => {
  it('given the globs the two old matchers disagreed on, then each has one meaning', () => {
    // `*.ts` was root-only in the patcher and any depth in the validator: a bare name matches at any depth.
    expect(matchesGlob('a.ts', '*.ts')).toBe(true);
    expect(matchesGlob('src/deep/a.ts', '*.ts')).toBe(true);
    // Braces were literal in the patcher and alternatives in the validator: they alternate.
    expect(matchesGlob('src/a.ts', 'src/{a,b}.ts')).toBe(true);
    expect(matchesGlob('src/b.ts', 'src/{a,b}.ts')).toBe(true);
    expect(matchesGlob('src/c.ts', 'src/{a,b}.ts')).toBe(false);
  });

  it('* stays within a segment, ** spans any number of them, none included', () => {
    expect(matchesGlob('src/a/b.ts', 'src/*.ts')).toBe(false);
    expect(matchesGlob('src/a.ts', 'src/*.ts')).toBe(true);
    expect(matchesGlob('src/a/b.ts', 'src/**')).toBe(true);
    expect(matchesGlob('src/a.ts', 'src/**/*.ts')).toBe(true);
    expect(matchesGlob('src/a/b/c.ts', 'src/**/*.ts')).toBe(true);
    expect(matchesGlob('lib/src/a.ts', 'src/**')).toBe(false);
    expect(matchesGlob('src/a.ts', 'src/?.ts')).toBe(true);
    expect(matchesGlob('src/a.ts', 'src/[ab].ts')).toBe(true);
    expect(matchesGlob('src/v2.ts', 'src/v{1..3}.ts')).toBe(true);
  });

  it('dotfiles are ordinary files', () => {
    expect(matchesGlob('src/.env', 'src/**')).toBe(true);
    expect(matchesGlob('src/.eslintrc.js', 'src/*')).toBe(true);
    expect(matchesGlob('.github/workflows/ci.yml', '**')).toBe(true);
  });

  it('a leading / anchors at the root, ./ is ignored, a trailing / means the whole directory', () => {
    expect(matchesGlob('docs/README.md', 'README.md')).toBe(true);
    expect(matchesGlob('docs/README.md', '/README.md')).toBe(false);
    expect(matchesGlob('README.md', '/README.md')).toBe(true);
    expect(matchesGlob('src/a.ts', './src/**')).toBe(true);
    expect(matchesGlob('./src/a.ts', 'src/**')).toBe(true);
    expect(matchesGlob('src/a/b.ts', 'src/')).toBe(true);
  });

  it('a leading ! is literal, never a negation; matching is case-sensitive', () => {
    expect(matchesGlob('lib/a.ts', '!src/**')).toBe(false);
    expect(matchesGlob('SRC/a.ts', 'src/**')).toBe(false);
  });

  it('knows the protected kinds', () => {
    expect(protectedKindsOf('src/a.test.ts')).toEqual(['test']);
    expect(protectedKindsOf('test/helpers.js')).toEqual(['test']);
    expect(protectedKindsOf('packages/x/__tests__/a.js')).toEqual(['test']);
    expect(protectedKindsOf('.github/workflows/ci.yml')).toEqual(['ci-config']);
    expect(protectedKindsOf('packages/x/yarn.lock')).toEqual(['lockfile']);
    expect(protectedKindsOf('config/.env.production')).toEqual(['secret']);
    expect(protectedKindsOf('deep/dir/key.pem')).toEqual(['secret']);
    expect(protectedKindsOf('src/cart.js')).toEqual([]);
    expect(protectedKindsOf('test/.env')).toEqual(['test', 'secret']);
    expect(isUnsafePath('../a.ts')).toBe(true);
    expect(isUnsafePath('src/.git/config')).toBe(true);
    expect(isUnsafePath('C:/x')).toBe(true);
    expect(isUnsafePath('src/a.ts')).toBe(false);
  });
});

describe('pathRefusal and checkPaths', () => {
  const p = { allowedPaths: ['src/**', 'test/fixtures/**'], forbiddenPaths: ['src/vendor/**'] };

  it('refuses forbidden paths, protected paths (tests, CI, lockfiles, secrets) and paths outside allowed ones', () => {
    expect(pathRefusal('src/a.ts', p)).toBeUndefined();
    expect(pathRefusal('src/vendor/x.ts', p)).toBe('src/vendor/x.ts matches the forbidden path pattern "src/vendor/**"');
    expect(pathRefusal('src/a.test.ts', p)).toMatch(/^src\/a\.test\.ts is a protected path \(test file\)/);
    expect(pathRefusal('test/fixtures/data.ts', p)).toBeUndefined();
    expect(pathRefusal('package-lock.json', { allowedPaths: ['**'], forbiddenPaths: [] })).toMatch(/protected path \(lockfile\)/);
    expect(pathRefusal('.github/workflows/ci.yml', { allowedPaths: ['**'], forbiddenPaths: [] })).toMatch(/protected path \(CI configuration file\)/);
    expect(pathRefusal('lib/a.ts', p)).toBe('lib/a.ts matches none of the allowed path patterns (src/**, test/fixtures/**)');
    expect(pathRefusal('../a.ts', p)).toMatch(/outside the repository/);
  });

  it('an empty allowed list allows nothing', () => {
    expect(pathRefusal('src/a.ts', { allowedPaths: [], forbiddenPaths: [] })).toBe('src/a.ts matches none of the allowed path patterns (none)');
  });

  it('forbidden wins over allowed, whatever dialect the globs use', () => {
    expect(pathRefusal('src/b.ts', { allowedPaths: ['*.ts'], forbiddenPaths: ['src/{a,b}.ts'] })).toMatch(/forbidden/);
    expect(pathRefusal('src/c.ts', { allowedPaths: ['*.ts'], forbiddenPaths: ['src/{a,b}.ts'] })).toBeUndefined();
  });

  it('opens a protected kind only through an allowed pattern that targets that kind itself', () => {
    expect(checkPaths(['test/cart.test.js'], { allowedPaths: ['src/**', 'test/**'], forbiddenPaths: [] })).toEqual([]);
    expect(checkPaths(['src/cart.test.js'], { allowedPaths: ['**'], forbiddenPaths: [] })[0]?.reason).toMatch(/test file/);
    expect(checkPaths(['src/cart.test.js'], { allowedPaths: ['src/**/*.test.js'], forbiddenPaths: [] })).toEqual([]);
    // A pattern opening tests does not open secrets under it.
    expect(checkPaths(['test/.env'], { allowedPaths: ['test/**'], forbiddenPaths: [] })[0]?.reason).toMatch(/secret/);
  });
});
