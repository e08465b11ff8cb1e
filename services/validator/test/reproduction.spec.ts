import { additionDiff, buildReproduction, detectFramework, jsLiteral, repositoryPathOf, type CapturedFailure, type GeneratedReproduction, type NoReproduction } from '../src/domain/reproduction';

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

function built(result: GeneratedReproduction | NoReproduction): GeneratedReproduction {
  if (result.kind !== 'built') throw new Error(`expected a reproduction: ${result.reason}`);
  return result;
}

describe('detectFramework', () => {
  it('reads the runner the test script runs, also through npm run and behind coverage tools, else the installed one', () => {
    expect(detectFramework({ scripts: { test: 'node --test' } })).toBe('node:test');
    expect(detectFramework({ devDependencies: { jest: '^30' }, scripts: { test: 'jest' } })).toBe('jest');
    expect(detectFramework({ scripts: { test: 'nyc mocha --recursive' } })).toBe('mocha');
    expect(detectFramework({ scripts: { test: 'vitest run' } })).toBe('vitest');
    expect(detectFramework({ scripts: { test: 'c8 ava' } })).toBe('ava');
    expect(detectFramework({ scripts: { test: 'jasmine' } })).toBe('jasmine');
    expect(detectFramework({ scripts: { test: 'tap test/*.js' } })).toBe('tap');
    expect(detectFramework({ scripts: { test: 'tape test/*.js | tap-spec' } })).toBe('tape');
    expect(detectFramework({ scripts: { test: 'npm run lint && npm run test:unit', 'test:unit': 'mocha', lint: 'eslint .' } })).toBe('mocha');
    expect(detectFramework({ devDependencies: { tape: '^5' }, scripts: { test: 'node test/index.js' } })).toBe('tape');
    expect(detectFramework({ devDependencies: { vitest: '^3' } })).toBe('vitest');
    expect(detectFramework({ scripts: { test: 'node test/run.js' } })).toBeUndefined();
  });
});

describe('buildReproduction', () => {
  it('given a captured TypeError with request data, when the repo uses node:test, then it writes a test calling the top in-app function with that data', () => {
    const test = built(buildReproduction(failure, { packageJson: { scripts: { test: 'node --test' } }, files }, 'abcd1234'));
    expect(test).toMatchObject({
      framework: 'node:test',
      testFile: 'test/antibody-repro-abcd1234.test.js',
      testName: 'antibody reproduction: TypeError in total',
      target: { file: 'src/cart.js', function: 'total', input: 'request data' },
    });
    expect(test.source).toBe(`const { test } = require('node:test');
const assert = require('node:assert/strict');
const { total } = require('../src/cart.js');

// TypeError: Cannot read properties of undefined (reading 'reduce')
// Captured by Antibody in total() on POST /checkout. This test fails while total() throws it again.
const input = { items: null };
const captured = { name: 'TypeError', message: "Cannot read properties of undefined (reading 'reduce')" };

/** How a call ended: the name and message of what it threw, or undefined when it returned. */
async function thrownBy(call) {
  try {
    await call();
    return undefined;
  } catch (error) {
    const { name, message } = Object(error);
    return { name, message };
  }
}

test('antibody reproduction: TypeError in total', async () => {
  assert.notDeepStrictEqual(await thrownBy(() => total(input)), captured);
});
`);
  });

  it.each([
    ['jest', { devDependencies: { jest: '^29' }, scripts: { test: 'jest' } }, [], 'expect(await thrownBy(() => total(input))).not.toEqual(captured);'],
    ['vitest', { devDependencies: { vitest: '^3' }, scripts: { test: 'vitest run' } }, ["import { expect, test } from 'vitest';", "import { total } from '../src/cart.js';"], 'expect(await thrownBy(() => total(input))).not.toEqual(captured);'],
    ['mocha', { devDependencies: { mocha: '^11' }, scripts: { test: 'mocha' } }, ["const assert = require('node:assert/strict');"], "it('antibody reproduction: TypeError in total', async () => {\n  assert.notDeepStrictEqual("],
    ['mocha', { devDependencies: { mocha: '^10', chai: '^4.3.0' }, scripts: { test: 'mocha' } }, ["const { expect } = require('chai');"], 'expect(await thrownBy(() => total(input))).to.not.deep.equal(captured);'],
    ['jasmine', { devDependencies: { jasmine: '^5' }, scripts: { test: 'jasmine' } }, [], "it('antibody reproduction: TypeError in total', async () => {\n  expect("],
    ['ava', { devDependencies: { ava: '^6' }, scripts: { test: 'ava' } }, ["const test = require('ava');"], 't.notDeepEqual(await thrownBy(() => total(input)), captured);'],
    ['tap', { devDependencies: { tap: '^21' }, scripts: { test: 'tap' } }, ["const t = require('tap');"], "t.test('antibody reproduction: TypeError in total', async (t) => {\n  t.notSame("],
    ['tape', { devDependencies: { tape: '^5' }, scripts: { test: 'tape test/*.js' } }, ["const test = require('tape');"], 't.plan(1);\n  t.notDeepEqual(await thrownBy(() => total(input)), captured);'],
  ] as const)('writes %s tests in that framework\'s own words', (framework, packageJson, imports, assertion) => {
    const test = built(buildReproduction(failure, { packageJson, files }, 'x'));
    expect(test.framework).toBe(framework);
    for (const line of imports) expect(test.source).toContain(`${line}\n`);
    expect(test.source).toContain(assertion);
    expect(test.source).not.toContain('JSON.parse');
    expect(test.source).not.toContain('@ts-nocheck');
  });

  it('given an ES module package, then the test imports; given a .mjs source in a CommonJS package, then the test is an .mjs file', () => {
    const esm = built(buildReproduction(failure, { packageJson: { type: 'module', devDependencies: { mocha: '^11' }, scripts: { test: 'mocha' } }, files }, 'x'));
    expect(esm.testFile).toBe('test/antibody-repro-x.test.js');
    expect(esm.source.startsWith("import assert from 'node:assert/strict';\nimport { total } from '../src/cart.js';\n")).toBe(true);
    expect(esm.source).not.toContain('require(');
    const mjs = { ...failure, frames: [{ filename: '/app/lib/parse.mjs', function: 'parse', inApp: true }] };
    const test = built(buildReproduction(mjs, { packageJson: { scripts: { test: 'node --test' } }, files: ['lib/parse.mjs', 'test/parse.test.js'] }, 'x'));
    expect(test.testFile).toBe('test/antibody-repro-x.test.mjs');
    expect(test.source).toContain("import { test } from 'node:test';\nimport assert from 'node:assert/strict';\nimport { parse } from '../lib/parse.mjs';\n");
  });

  it('writes the test where the repository keeps its tests, named as they are', () => {
    const mocha = { devDependencies: { mocha: '^11' }, scripts: { test: 'mocha' } };
    expect(built(buildReproduction(failure, { packageJson: mocha, files: ['src/cart.js', 'test/cart.js', 'test/order.js', 'test/helpers/db.js'] }, 'x')).testFile).toBe('test/antibody-repro-x.js');
    expect(built(buildReproduction(failure, { packageJson: mocha, files: ['src/cart.js', 'src/cart.spec.js', 'src/order.spec.js', 'test/e2e.test.js'] }, 'x')).testFile).toBe('src/antibody-repro-x.spec.js');
    expect(built(buildReproduction(failure, { packageJson: { devDependencies: { jasmine: '^5' } }, files: ['src/cart.js'] }, 'x')).testFile).toBe('spec/antibody-repro-x.spec.js');
  });

  it('given a TypeScript frame and a body captured as JSON text, when Jest runs TypeScript (ts-jest), then it writes a typed TypeScript test with the parsed body as a literal', () => {
    const ts: CapturedFailure = {
      exception: { type: 'TypeError', value: "Cannot read properties of undefined (reading 'country')" },
      frames: [
        { filename: '/srv/shop/src/app.ts', function: 'POST /orders', inApp: true },
        { filename: '/srv/shop/src/checkout.ts', function: 'placeOrder', inApp: true },
      ],
      request: { method: 'POST', url: '/orders', data: '{"customer":{"id":"c-1"}}' },
    };
    const repo = { packageJson: { devDependencies: { jest: '^29', 'ts-jest': '^29' } }, files: ['package.json', 'src/app.ts', 'src/checkout.ts', 'test/app.test.ts'] };
    const test = built(buildReproduction(ts, repo, 'feed0001'));
    expect(test).toMatchObject({ framework: 'jest', testFile: 'test/antibody-repro-feed0001.test.ts', target: { file: 'src/checkout.ts', function: 'placeOrder' } });
    expect(test.source).toContain("import { placeOrder } from '../src/checkout';\n");
    expect(test.source).toContain("const input = { customer: { id: 'c-1' } } as unknown as Parameters<typeof placeOrder>[0];\n");
    expect(test.source).toContain('async function thrownBy(call: () => unknown): Promise<{ name: string; message: string } | undefined> {');
    expect(test.source).not.toContain('@ts-nocheck');
    // Vitest runs TypeScript as it is; Jest without a TypeScript transform could not: no reproduction, and the reason says so.
    expect(built(buildReproduction(ts, { ...repo, packageJson: { devDependencies: { vitest: '^3' } } }, 'x')).source).toContain("import { expect, test } from 'vitest';\nimport { placeOrder } from '../src/checkout';\n");
    expect(buildReproduction(ts, { ...repo, packageJson: { devDependencies: { jest: '^29' } } }, 'x').kind).toBe('none');
  });

  it('embeds captured values only as escaped literals: untrusted input never becomes code, not even in a comment', () => {
    const hostile: CapturedFailure = {
      exception: { type: 'Error\n}); process.exit(1); //', value: "'); process.exit(1); ('" },
      frames: failure.frames,
      request: { method: 'POST', url: '/x\nprocess.exit(1)\u2028', data: { "a'b": '\\\u2028</script>', __proto__x: 1, ['__proto__']: { polluted: true } } },
    };
    const test = built(buildReproduction(hostile, { packageJson: { devDependencies: { jest: '1' } }, files }, 'x'));
    expect(test.source).toContain(`const captured = { name: 'Error\\n}); process.exit(1); //', message: "'); process.exit(1); ('" };`);
    expect(test.source).toContain('on POST /x process.exit(1). This test');
    expect(test.testName).toBe('antibody reproduction: Error in total');
    const lines = test.source.split('\n');
    expect(lines.filter((l) => l.includes('process.exit')).every((l) => l.startsWith('//') || l.startsWith('const captured'))).toBe(true);
  });
  it('says plainly why none can be built', () => {
    expect(buildReproduction(failure, { packageJson: { scripts: { test: 'node test/run.js' } }, files }, 'x')).toEqual({
      kind: 'none',
      reason: 'no test framework was detected in package.json (Jest, Vitest, Mocha, node:test, Jasmine, AVA, tap or tape in the test script or the dependencies).',
    });
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

describe('jsLiteral', () => {
  it('writes captured data as the literal a person would type', () => {
    expect(jsLiteral({ items: [{ sku: 'A-1', qty: 2 }], note: null, ok: true })).toBe("{ items: [{ sku: 'A-1', qty: 2 }], note: null, ok: true }");
    expect(jsLiteral({ 'content-type': 'text/plain', 1: 'one', "it's": 'x' })).toBe(`{ 1: 'one', 'content-type': 'text/plain', "it's": 'x' }`);
    expect(jsLiteral([-0, 1e21, Number.NaN, 10n, undefined])).toBe('[-0, 1e+21, NaN, 10n, undefined]');
    expect(jsLiteral({ long: 'x'.repeat(90), list: [1, 2] })).toBe(`{\n  long: '${'x'.repeat(90)}',\n  list: [1, 2],\n}`);
  });

  it('cannot produce code: functions, symbols and class instances become undefined, every quote and line terminator is escaped', () => {
    expect(jsLiteral({ f: () => 1, s: Symbol('x'), d: new Date(0) })).toBe('{ f: undefined, s: undefined, d: undefined }');
    const value = { ['__proto__']: { polluted: true }, text: "a'b\"c\\\n\u2028\u0000" };
    const literal = jsLiteral(JSON.parse(JSON.stringify(value)));
    expect(literal).toBe(`{ ['__proto__']: { polluted: true }, text: 'a\\'b"c\\\\\\n\\u2028\\x00' }`);
    // Evaluated, the literal is the same data, and __proto__ stays an own property.
    const evaluated = new Function(`return ${literal};`)() as Record<string, unknown>;
    expect(Object.getOwnPropertyNames(evaluated)).toEqual(['__proto__', 'text']);
    expect(evaluated['text']).toBe(value.text);
  });
});
