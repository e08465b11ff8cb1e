import { additionDiff, buildReproduction, detectFramework, repositoryPathOf, type CapturedFailure } from '../src/domain/reproduction';

const failure: CapturedFailure = {
  exception: { type: 'TypeError', value: "Cannot read properties of undefined (reading 'reduce')" },
  frames: [
    { filename: '/app/server.js', function: 'handle', inApp: true },
    { filename: 'node:internal/process', function: 'run', inApp: false },
    { filename: '/app/src/cart.js', function: 'Cart.total', inApp: true },
  ],
  request: { method: 'POST', url: '/checkout', data: { items: null } },
};
const files = ['package.json', 'server.js', 'src/cart.js', 'test/cart.test.js'];

describe('detectFramework', () => {
  it('reads node:test from the test script and Jest from the dependencies', () => {
    expect(detectFramework({ scripts: { test: 'node --test' } })).toBe('node:test');
    expect(detectFramework({ devDependencies: { jest: '^30' }, scripts: { test: 'jest' } })).toBe('jest');
    expect(detectFramework({ scripts: { test: 'mocha' } })).toBeUndefined();
  });
});

describe('buildReproduction', () => {
  it('given a captured TypeError with request data, when the repo uses node:test, then it writes a test calling the top in-app function with that data', () => {
    const built = buildReproduction(failure, { packageJson: { scripts: { test: 'node --test' } }, files }, 'abcd1234');
    expect(built).toMatchObject({
      kind: 'built',
      framework: 'node:test',
      testFile: 'test/antibody-repro-abcd1234.test.js',
      testName: 'antibody reproduction: TypeError in total',
      target: { file: 'src/cart.js', function: 'total', input: 'request data' },
    });
    if (built.kind !== 'built') throw new Error('expected a reproduction');
    expect(built.source).toContain("require('node:test')");
    expect(built.source).toContain('require("../src/cart.js")');
    expect(built.source).toContain('JSON.parse("{\\"items\\":null}")');
  });

  it('given a TypeScript frame and a body captured as JSON text, when Jest runs TypeScript (ts-jest), then it writes a TypeScript test that calls the function with the parsed body', () => {
    const ts: CapturedFailure = {
      exception: { type: 'TypeError', value: "Cannot read properties of undefined (reading 'country')" },
      frames: [
        { filename: '/srv/shop/src/app.ts', function: 'POST /orders', inApp: true },
        { filename: '/srv/shop/src/checkout.ts', function: 'placeOrder', inApp: true },
      ],
      request: { method: 'POST', url: '/orders', data: '{"customer":{"id":"c-1"}}' },
    };
    const repo = { packageJson: { devDependencies: { jest: '^29', 'ts-jest': '^29' } }, files: ['package.json', 'src/app.ts', 'src/checkout.ts', 'test/app.test.ts'] };
    const built = buildReproduction(ts, repo, 'feed0001');
    expect(built).toMatchObject({ kind: 'built', framework: 'jest', testFile: 'test/antibody-repro-feed0001.test.ts', target: { file: 'src/checkout.ts', function: 'placeOrder' } });
    if (built.kind !== 'built') throw new Error('expected a reproduction');
    expect(built.source.startsWith('// @ts-nocheck\n')).toBe(true);
    expect(built.source).toContain('require("../src/checkout")');
    expect(built.source).toContain('decode(JSON.parse(');
    // Without a TypeScript transform Jest could not run it: no reproduction, and the reason says so.
    expect(buildReproduction(ts, { ...repo, packageJson: { devDependencies: { jest: '^29' } } }, 'x').kind).toBe('none');
  });

  it('embeds captured text only as string literals (untrusted input never becomes code)', () => {
    const hostile: CapturedFailure = { ...failure, exception: { type: 'Error', value: '"); process.exit(1); ("' } };
    const built = buildReproduction(hostile, { packageJson: { devDependencies: { jest: '1' } }, files }, 'x');
    if (built.kind !== 'built') throw new Error('expected a reproduction');
    expect(built.source).toContain('message: "\\"); process.exit(1); (\\""');
  });

  it('says plainly why none can be built', () => {
    expect(buildReproduction(failure, { packageJson: { scripts: { test: 'mocha' } }, files }, 'x')).toEqual({ kind: 'none', reason: 'no supported test framework (Jest or node:test) was detected in package.json.' });
    const noApp = { ...failure, frames: failure.frames.map((f) => ({ ...f, inApp: false })) };
    expect(buildReproduction(noApp, { packageJson: { scripts: { test: 'node --test' } }, files }, 'x')).toEqual({ kind: 'none', reason: 'the captured stack has no in-app frame to call.' });
    const elsewhere = { ...failure, frames: [{ filename: '/other/lib.js', function: 'x', inApp: true }] };
    expect(buildReproduction(elsewhere, { packageJson: { scripts: { test: 'node --test' } }, files }, 'x').kind).toBe('none');
  });

  it('maps production paths to the longest matching tracked file', () => {
    expect(repositoryPathOf('file:///srv/app/src/cart.js', files)).toBe('src/cart.js');
    expect(repositoryPathOf('/srv/app/src/nope.js', files)).toBeUndefined();
  });

  it('turns the test into a diff that adds the file', () => {
    expect(additionDiff('test/a.test.js', 'one\ntwo\n')).toBe('diff --git a/test/a.test.js b/test/a.test.js\nnew file mode 100644\n--- /dev/null\n+++ b/test/a.test.js\n@@ -0,0 +1,2 @@\n+one\n+two\n');
  });
});
