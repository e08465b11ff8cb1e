// Libraries published as build output (tsc's dist/, a bundler's libesm/) that git does not track and
// no source map leads back from: the frame's file is traced to its source at the release commit by
// the build configuration, and its line by the line text the SDK captured. The build output is
// really built here (the TypeScript compiler, as `tsc` would) and really run (node), and the frame
// is the one node reported, with the context lines the Sentry SDK reads from the built file.
// Real Postgres, the analyzer in-process on the store-log transport.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import ts from 'typescript';
import type { INestApplication } from '@nestjs/common';
import { createTempRepo, type TempRepo } from '@antibody/fix-io/testing';
import { createTestStore, uniqueName, type TestStore } from '@antibody/testing';
import { openIncident, registerService, startAnalyzer, waitForEvent } from './support';

const CART = `import type { Sku } from './types';

interface Price {
  readonly amount: number;
  readonly currency: string;
}

const prices = new Map<Sku, Price>([['apple', { amount: 3, currency: 'EUR' }]]);

/** The total of one line of the cart, in the price's currency. */
export function lineTotal(sku: Sku, qty: number): number {
  const price = prices.get(sku) as Price;
  return price.amount * qty;
}
`;

const STRING_UTIL = `export type Casing = 'upper' | 'lower';

/** The words of a title, cased. */
export function caseWords(title: string | undefined, casing: Casing = 'upper'): string[] {
  const words: string[] = title!.split(' ');
  return words.map((w) => (casing === 'upper' ? w.toUpperCase() : w.toLowerCase()));
}
`;

/** A frame as the Sentry SDK sends it for the first frame of `stack` in `file`: line, column and up to 5 lines of context from the built file. */
function frameOf(stack: string, file: string, fn: string) {
  const at = new RegExp(`\\(?(?:file://)?${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:(\\d+):(\\d+)\\)?`).exec(stack);
  if (!at) throw new Error(`no frame in ${file} in:\n${stack}`);
  const lineno = Number(at[1]);
  const lines = readFileSync(file, 'utf8').split('\n');
  return {
    filename: file,
    function: fn,
    lineno,
    colno: Number(at[2]),
    contextLine: lines[lineno - 1]!,
    preContext: lines.slice(Math.max(0, lineno - 6), lineno - 1),
    postContext: lines.slice(lineno, lineno + 5),
  };
}

/** Compiles `source` as the package's build would, without source maps, into the (untracked) `out` path of the repository. */
function build(repo: TempRepo, out: string, source: string, module: ts.ModuleKind): void {
  const { outputText } = ts.transpileModule(source, { compilerOptions: { module, target: ts.ScriptTarget.ES2019, removeComments: true, sourceMap: false } });
  mkdirSync(dirname(join(repo.dir, out)), { recursive: true });
  writeFileSync(join(repo.dir, out), outputText);
}

/** Runs `script` with node in the repository and returns the stack it failed with. */
function crash(repo: TempRepo, script: string): string {
  try {
    execFileSync(process.execPath, ['-e', script], { cwd: repo.dir, encoding: 'utf8', stdio: 'pipe' });
  } catch (e) {
    return String((e as { stderr?: string }).stderr);
  }
  throw new Error(`the script did not fail: ${script}`);
}

const lineOf = (source: string, text: string): number => source.split('\n').findIndex((l) => l.includes(text)) + 1;

describe('antibody-analyzer, frames in build output without source maps (real Postgres, store-log transport)', () => {
  let t: TestStore;
  let repo: TempRepo;
  let app: INestApplication | undefined;

  beforeAll(async () => {
    t = await createTestStore('analyzer_built_output');
  });
  afterAll(async () => {
    await t.cleanup();
  });
  beforeEach(() => {
    repo = createTempRepo();
  });
  afterEach(async () => {
    await app?.close();
    app = undefined;
    repo.remove();
  });

  async function diagnose(release: string, type: string, message: string, frame: ReturnType<typeof frameOf>) {
    const service = uniqueName('lib').replace(/_/g, '-');
    await registerService(t.store, service, repo.dir);
    app = await startAnalyzer(t);
    const streamId = await openIncident(t.store, { service, release, type, message, frames: [frame] });
    return (await waitForEvent(t.store, streamId, ['DiagnosisMade', 'DiagnosisFailed'])).find((e) => e.type === 'DiagnosisMade' || e.type === 'DiagnosisFailed')!;
  }

  it('given a TypeScript package built by tsc (outDir dist, rootDir src) whose dist/ is not tracked, when it crashes in dist/cart.js, then the diagnosis lands at the source line of src/cart.ts', async () => {
    const release = repo.commit({
      'package.json': JSON.stringify({ name: 'cart', main: 'dist/cart.js', scripts: { build: 'tsc' } }),
      'tsconfig.json': JSON.stringify({ compilerOptions: { outDir: 'dist', rootDir: 'src', module: 'commonjs', strict: true } }),
      '.gitignore': 'dist/\n',
      'src/types.ts': 'export type Sku = string;\n',
      'src/cart.ts': CART,
    });
    build(repo, 'dist/cart.js', CART, ts.ModuleKind.CommonJS);
    const builtFile = join(repo.dir, 'dist/cart.js');
    const frame = frameOf(crash(repo, "require('./dist/cart.js').lineTotal('pear', 2)"), builtFile, 'lineTotal');
    expect(frame.lineno).not.toBe(lineOf(CART, 'price.amount * qty'));

    const made = await diagnose(release, 'TypeError', "Cannot read properties of undefined (reading 'amount')", frame);
    expect(made.type).toBe('DiagnosisMade');
    expect(made.data).toMatchObject({
      ruleId: 'undefined-property-read',
      commit: release,
      location: { file: 'src/cart.ts', line: lineOf(CART, 'price.amount * qty'), function: 'lineTotal' },
      evidence: expect.arrayContaining(['mapped-from-build-output']),
      notes: expect.arrayContaining([expect.stringMatching(/dist\/cart\.js:\d+ is build output without a source map: mapped to src\/cart\.ts:13 by file name and the captured line text.*not by a source map/)]),
    });
    expect((made.data as { sites: { suspect?: string }[] }).sites[0]?.suspect).toBe('price');
  });

  it('given an ESM package whose libesm/*.mjs build output is not tracked and has no tsconfig, when it crashes in libesm/util/string.mjs, then the diagnosis lands at the source line of src/util/string.ts', async () => {
    const release = repo.commit({
      'package.json': JSON.stringify({ name: 'words', type: 'module', exports: './libesm/index.mjs', scripts: { build: 'rollup -c' } }),
      '.gitignore': 'libesm/\n',
      'src/util/string.ts': STRING_UTIL,
    });
    build(repo, 'libesm/util/string.mjs', STRING_UTIL, ts.ModuleKind.ESNext);
    const builtFile = join(repo.dir, 'libesm/util/string.mjs');
    const frame = frameOf(crash(repo, "import('./libesm/util/string.mjs').then((m) => m.caseWords(undefined))"), builtFile, 'caseWords');
    expect(frame.filename).toMatch(/\.mjs$/);

    const made = await diagnose(release, 'TypeError', "Cannot read properties of undefined (reading 'split')", { ...frame, filename: `file://${builtFile}` });
    expect(made.type).toBe('DiagnosisMade');
    expect(made.data).toMatchObject({
      location: { file: 'src/util/string.ts', line: lineOf(STRING_UTIL, "title!.split(' ')") },
      evidence: expect.arrayContaining(['mapped-from-build-output']),
    });
  });

  it('given a built line that no line of the source at the release reads like, then the diagnosis fails saying the frame is build output without source maps, which source it would be, and what to configure', async () => {
    // The release's source was rewritten after the build that is running: no line reads as the crash line did.
    build(repo, 'dist/cart.js', CART, ts.ModuleKind.CommonJS);
    const frame = frameOf(crash(repo, "require('./dist/cart.js').lineTotal('pear', 2)"), join(repo.dir, 'dist/cart.js'), 'lineTotal');
    const release = repo.commit({
      'tsconfig.json': JSON.stringify({ compilerOptions: { outDir: 'dist', rootDir: 'src' } }),
      '.gitignore': 'dist/\n',
      'src/cart.ts': CART.replace('return price.amount * qty;', 'const total = price.amount * qty;\n  return total;'),
    });

    const failed = await diagnose(release, 'TypeError', "Cannot read properties of undefined (reading 'amount')", frame);
    expect(failed.type).toBe('DiagnosisFailed');
    expect((failed.data as { reason: string }).reason).toMatch(
      /^no in-app frame of the stack could be traced to its source in .* at [0-9a-f]{12}: dist\/cart\.js \(line \d+, column \d+\) is build output without source maps; its source would be src\/cart\.ts, but the captured line `return price\.amount \* qty;` matches no line there; register where its source maps are \(the registration's `sourceMaps`/,
    );
  });
});
