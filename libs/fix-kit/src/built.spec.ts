import ts from 'typescript';
import { buildLayouts, looksMinified, mapBuiltFrame, matchBuiltLine, normaliseCodeLine, sourceCandidates, stripTypes, tsBuildSettings } from './built';

const CART_TS = `import type { Money } from './money';

interface Price {
  readonly amount: number;
}

const prices = new Map<string, Price>([['apple', { amount: 3 }]]);

/** The total of one line of the cart. */
export function lineTotal(sku: string, qty: number): Money {
  const price = prices.get(sku) as Price;
  const unit: number = price!.amount;
  return unit * qty;
}
`;

/** The file tsc writes for `source` (CommonJS, comments dropped), and a frame at the built line holding `needle`. */
function built(source: string, needle: string, module = ts.ModuleKind.CommonJS) {
  const out = ts.transpileModule(source, { compilerOptions: { module, target: ts.ScriptTarget.ES2019, removeComments: true } }).outputText.split('\n');
  const index = out.findIndex((l) => l.includes(needle));
  return { lineno: index + 1, contextLine: out[index]!, preContext: out.slice(Math.max(0, index - 5), index), postContext: out.slice(index + 1, index + 6) };
}

const sourceLine = (source: string, needle: string): number => source.split('\n').findIndex((l) => l.includes(needle)) + 1;

describe('frames in build output without source maps', () => {
  describe('which source file a built file comes from', () => {
    it('given an absolute frame path, then every build directory in it and every repository prefix are tried', () => {
      expect(buildLayouts('/srv/app/dist/CronFieldCollection.js')).toEqual(
        expect.arrayContaining([
          { pkg: '', buildDir: 'dist', rest: 'CronFieldCollection.js' },
          { pkg: 'srv/app', buildDir: 'dist', rest: 'CronFieldCollection.js' },
        ]),
      );
      expect(buildLayouts('/srv/app/node_modules/x/dist/a.js')).toEqual([]);
      expect(buildLayouts('/srv/app/src/a.ts')).toEqual([]);
    });

    it('given tsconfig outDir dist and rootDir src, when the frame is dist/X.js, then the source is src/X.ts first', () => {
      const settings = tsBuildSettings('tsconfig.json', (p) => (p === 'tsconfig.json' ? '{ /* tsc */ "compilerOptions": { "outDir": "./dist", "rootDir": "./src", }, }' : undefined));
      expect(settings).toMatchObject({ outDir: 'dist', rootDir: 'src' });
      expect(sourceCandidates({ pkg: '', buildDir: 'dist', rest: 'CronFieldCollection.js' }, [settings!])[0]).toBe('src/CronFieldCollection.ts');
    });

    it('given a build tsconfig that extends the base one, then outDir and rootDir are read through extends, relative to the file that sets them', () => {
      const files: Record<string, string> = {
        'packages/core/tsconfig.build.json': '{ "extends": "./tsconfig.json", "compilerOptions": { "outDir": "build" } }',
        'packages/core/tsconfig.json': '{ "compilerOptions": { "rootDir": "source" } }',
      };
      const settings = tsBuildSettings('packages/core/tsconfig.build.json', (p) => files[p]);
      expect(settings).toMatchObject({ outDir: 'packages/core/build', rootDir: 'packages/core/source' });
      expect(sourceCandidates({ pkg: 'packages/core', buildDir: 'build', rest: 'a/b.js' }, [settings!])[0]).toBe('packages/core/source/a/b.ts');
    });

    it('given no tsconfig, then the build directory is stripped and the same path is looked for under src/, lib/ and the package root', () => {
      expect(sourceCandidates({ pkg: '', buildDir: 'libcjs', rest: 'util/string.js' }, [])[0]).toBe('src/util/string.ts');
      expect(sourceCandidates({ pkg: '', buildDir: 'lib', rest: 'patch/create.js' }, [])).toContain('src/patch/create.js');
      expect(sourceCandidates({ pkg: '', buildDir: 'lib', rest: 'patch/create.js' }, [])).not.toContain('lib/patch/create.js');
      expect(sourceCandidates({ pkg: '', buildDir: 'dist', rest: 'index.mjs' }, []).slice(0, 2)).toEqual(['src/index.mts', 'src/index.ts']);
    });
  });

  describe('which source line a built line comes from', () => {
    it('given TypeScript, then types are blanked out line for line', () => {
      const stripped = stripTypes('src/cart.ts', CART_TS);
      expect(stripped.split('\n')).toHaveLength(CART_TS.split('\n').length);
      expect(normaliseCodeLine(stripped.split('\n')[sourceLine(CART_TS, 'function lineTotal') - 1]!)).toBe('function lineTotal ( sku , qty ) {');
      expect(normaliseCodeLine(stripped.split('\n')[sourceLine(CART_TS, 'price!.amount') - 1]!)).toBe('var unit = price . amount');
      expect(normaliseCodeLine(stripped.split('\n')[sourceLine(CART_TS, 'interface Price') - 1]!)).toBe('');
    });

    it("given tsc's CommonJS output of a TypeScript file, when the crash is on a built line, then the source line is found", () => {
      for (const [needle, inSource] of [['price.amount', 'price!.amount'], ['prices.get(sku)', 'prices.get(sku)'], ['unit * qty', 'unit * qty'], ['function lineTotal', 'function lineTotal']] as const) {
        const frame = built(CART_TS, needle);
        expect(frame.lineno).not.toBe(sourceLine(CART_TS, inSource));
        expect(matchBuiltLine('src/cart.ts', CART_TS, frame)).toEqual({ kind: 'matched', line: sourceLine(CART_TS, inSource), contextMatches: expect.any(Number) });
      }
    });

    it('given a class compiled for an older target (private fields through helpers) or a statement tsc splits in two, then the source line is still found', () => {
      const source = [
        "import { trim } from './util/string';",
        '',
        'export class CronFieldCollection {',
        '  readonly #second: number[];',
        '',
        '  constructor(private readonly fields: Record<string, number[]>, public name?: string) {',
        '    this.#second = fields.second!;',
        '  }',
        '',
        '  stringify(includeSeconds = false): string {',
        '    const parts: string[] = [];',
        "    if (includeSeconds) parts.push(this.#second.join(','));",
        "    return trim(parts.join(' ')).toUpperCase();",
        '  }',
        '}',
        '',
      ].join('\n');
      for (const target of [ts.ScriptTarget.ES2019, ts.ScriptTarget.ES2022]) {
        const compile = (needle: string) => {
          const out = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.CommonJS, target, removeComments: true } }).outputText.split('\n');
          const i = out.findIndex((l) => l.includes(needle));
          return { contextLine: out[i]!, preContext: out.slice(Math.max(0, i - 5), i), postContext: out.slice(i + 1, i + 6) };
        };
        expect(matchBuiltLine('src/c.ts', source, compile('fields.second'))).toMatchObject({ kind: 'matched', line: 7 });
        expect(matchBuiltLine('src/c.ts', source, compile('parts.push'))).toMatchObject({ kind: 'matched', line: 12 });
        expect(matchBuiltLine('src/c.ts', source, compile('toUpperCase'))).toMatchObject({ kind: 'matched', line: 13 });
      }
    });

    it('given compiled import references and quotes that changed, then they read as the source did', () => {
      expect(normaliseCodeLine("    return (0, string_1.trim)(value, 'x');")).toBe(normaliseCodeLine('  return trim(value, "x")'));
      expect(normaliseCodeLine('const a = 1; // one')).toBe(normaliseCodeLine('let a = 1'));
      expect(normaliseCodeLine('  var limit = _constants.DEFAULTS.max + (0, _string.width)(label);')).toBe(normaliseCodeLine('const limit = DEFAULTS.max + width(label)'));
      expect(normaliseCodeLine('this._cache.get(key)')).toBe('this . _cache . get ( key )');
    });

    it('given the same line twice in the source, then the captured context picks one, and identical context is not a confident match', () => {
      const source = ['function a(s: string) {', '  const v = s;', '  return v.trim();', '}', 'function b(s: string) {', '  const w = s;', '  return v.trim();', '}', ''].join('\n');
      const frame = { contextLine: '    return v.trim();', preContext: ['function b(s) {', '    const w = s;'], postContext: ['}'] };
      expect(matchBuiltLine('src/x.ts', source, frame)).toEqual({ kind: 'matched', line: 7, contextMatches: 3 });
      expect(matchBuiltLine('src/x.ts', source, { contextLine: '    return v.trim();' })).toEqual({ kind: 'not-confident', lines: [3, 7] });
    });

    it('given a trivial line that occurs once but no context agrees, then it is not a confident match', () => {
      expect(matchBuiltLine('src/x.ts', 'function a() {\n  return;\n}\n', { contextLine: 'return;', preContext: ['unrelated();'] })).toEqual({ kind: 'not-confident', lines: [2] });
    });

    it('given a line that is not in the source, or no line text, then there is no match', () => {
      expect(matchBuiltLine('src/cart.ts', CART_TS, { contextLine: 'return __awaiter(this, void 0, void 0, function* () {' })).toEqual({ kind: 'no-match' });
      expect(matchBuiltLine('src/cart.ts', CART_TS, {})).toEqual({ kind: 'no-context' });
    });

    it('given a line the SDK cut short or a far column on line 1, then it is a minified bundle', () => {
      expect(looksMinified({ lineno: 1, colno: 20345, contextLine: '{snip} ction(e){return e.a.b}var t= {snip}' })).toBe(true);
      expect(looksMinified({ lineno: 1, colno: 5000 })).toBe(true);
      expect(looksMinified({ lineno: 12, colno: 9, contextLine: '  return price.amount * qty;' })).toBe(false);
    });

    it('given a long line further down an ordinary file that the SDK cut short, then it is not minified and its whole middle tokens find the source line', () => {
      const source = `export function describe(order: Order): string {\n  const parts = [order.customer.name, order.customer.address.street, order.customer.address.city, order.customer.address.country];\n  return parts.join(', ');\n}\n`;
      const frame = { lineno: 40, colno: 160, contextLine: '{snip} r.address.street, order.customer.address.city, order.customer.address.country]; {snip}' };
      expect(looksMinified(frame)).toBe(false);
      expect(matchBuiltLine('src/order.ts', source, frame)).toEqual({ kind: 'matched', line: 2, contextMatches: 0 });
    });

    it('given export default in the source, then the compiled declaration without it reads the same', () => {
      expect(normaliseCodeLine('export default function parse(input) {')).toBe(normaliseCodeLine('function parse(input) {'));
    });
  });

  describe('tracing a frame through the commit', () => {
    const files: Record<string, string> = { 'tsconfig.json': '{ "compilerOptions": { "outDir": "dist", "rootDir": "src" } }', 'src/cart.ts': CART_TS };
    const read = (path: string): Promise<string | undefined> => Promise.resolve(files[path]);

    it('given a frame in dist/, then it maps to the source file and line', async () => {
      const frame = built(CART_TS, 'price.amount');
      expect(await mapBuiltFrame('/srv/app/dist/cart.js', frame, read, new Set(Object.keys(files)))).toMatchObject({ kind: 'mapped', built: 'dist/cart.js', path: 'src/cart.ts', line: sourceLine(CART_TS, 'price!.amount') });
    });

    it('given a built line that matches nothing, then the reason names the source file it would be and what to configure', async () => {
      const mapping = await mapBuiltFrame('/srv/app/dist/cart.js', { lineno: 9, contextLine: 'return __awaiter(this, void 0, void 0, function* () {' }, read);
      expect(mapping).toEqual({ kind: 'unmapped', built: 'dist/cart.js', reason: expect.stringContaining('dist/cart.js (line 9) is build output without source maps; its source would be src/cart.ts, but the captured line') });
      expect(mapping?.kind === 'unmapped' && mapping.reason).toMatch(/`sourceMaps`.*"sourceMap": true/);
    });

    it('given a minified bundle, then the reason says so and what to configure', async () => {
      const mapping = await mapBuiltFrame('/srv/app/dist/cart.js', { lineno: 1, colno: 18000, contextLine: '{snip} e.amount*t {snip}' }, read);
      expect(mapping).toMatchObject({ kind: 'unmapped', reason: expect.stringMatching(/^dist\/cart\.js is a minified bundle without source maps \(line 1, column 18000\): its source would be src\/cart\.ts.*`sourceMaps`/) });
    });

    it('given build output with no source file to be found, then the reason says where it looked; a path that is not build output is not traced', async () => {
      expect(await mapBuiltFrame('/srv/app/dist/other.js', { lineno: 3, contextLine: 'x();' }, read)).toMatchObject({ kind: 'unmapped', reason: expect.stringContaining('no source file for it was found') });
      expect(await mapBuiltFrame('/srv/app/src/other.js', { lineno: 3 }, read)).toBeUndefined();
    });
  });
});
