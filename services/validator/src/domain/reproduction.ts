/**
 * Builds a regression test from a captured failure, in the repository's own test framework. Pure:
 * the caller reads package.json and the file list and writes the result.
 */
import type { EventData } from '@antibody/contracts';

/** A failure as the SDK captured it: the `ErrorRecorded` event's data, reduced to what a reproduction needs. */
export type CapturedFailure = Pick<EventData<'ErrorRecorded'>, 'exception' | 'frames' | 'request'>;

/** A test framework the generator writes for, and whose results the validator reads. */
export type TestFramework = 'jest' | 'vitest' | 'mocha' | 'node:test' | 'jasmine' | 'ava' | 'tap' | 'tape';

/** What the generator needs to know about the repository. */
export interface RepositoryFacts {
  /** package.json's parsed content, or undefined when there is none. */
  readonly packageJson: unknown;
  /** Every tracked file, relative to the repository root. */
  readonly files: readonly string[];
}

/** A generated regression test. */
export interface GeneratedReproduction {
  readonly kind: 'built';
  readonly framework: TestFramework;
  /** Path of the new test file, relative to the repository root. */
  readonly testFile: string;
  readonly testName: string;
  readonly source: string;
  /** The module and function it calls, and with what. */
  readonly target: { readonly file: string; readonly function: string; readonly input: 'request data' | 'none' };
}

/** Why no regression test could be built, in plain words. */
export interface NoReproduction {
  readonly kind: 'none';
  readonly reason: string;
}

interface PackageFacts {
  readonly type?: unknown;
  readonly dependencies?: Record<string, unknown>;
  readonly devDependencies?: Record<string, unknown>;
  readonly scripts?: Record<string, unknown>;
}

function packageOf(packageJson: unknown): PackageFacts {
  return packageJson && typeof packageJson === 'object' ? (packageJson as PackageFacts) : {};
}

/** The version range the package declares for a dependency (dev or not). */
function dependency(pkg: PackageFacts, name: string): string | undefined {
  const range = pkg.devDependencies?.[name] ?? pkg.dependencies?.[name];
  return typeof range === 'string' ? range : undefined;
}

/** The major version a range starts with (`^4.3.0` -> 4), when it names one. */
function majorOf(range: string | undefined): number | undefined {
  const match = /(\d+)/.exec(range ?? '');
  return match?.[1] ? Number(match[1]) : undefined;
}

// How each runner appears in a script: its binary, not a plugin or formatter named after it
// (`tap-spec`, `jest-junit`, `mocha-multi`).
const RUNNER_IN_SCRIPT: ReadonlyArray<readonly [TestFramework, RegExp]> = [
  ['node:test', /\bnode\b[^&|;]*\s--test\b/],
  ['vitest', /(?:^|[\s/])vitest(?![\w-])/],
  ['jest', /(?:^|[\s/])jest(?![\w-])/],
  ['mocha', /(?:^|[\s/])(?:_?mocha|ts-mocha)(?![\w-])/],
  ['jasmine', /(?:^|[\s/])jasmine(?![\w-])/],
  ['ava', /(?:^|[\s/])ava(?![\w-])/],
  ['tap', /(?:^|[\s/])tap(?![\w-])/],
  ['tape', /(?:^|[\s/])tape(?![\w-])/],
];

// When no script names a runner, the first one installed.
const RUNNER_PACKAGES: ReadonlyArray<readonly [TestFramework, string]> = [
  ['vitest', 'vitest'],
  ['jest', 'jest'],
  ['mocha', 'mocha'],
  ['ava', 'ava'],
  ['jasmine', 'jasmine'],
  ['tap', 'tap'],
  ['tape', 'tape'],
];

/** The runner a script runs: the first one it names, following `npm run x` / `yarn x` / `pnpm x` into other scripts. */
function runnerOfScript(script: string, scripts: Record<string, unknown>, depth = 0): TestFramework | undefined {
  let first: { framework: TestFramework; at: number } | undefined;
  for (const [framework, pattern] of RUNNER_IN_SCRIPT) {
    const at = pattern.exec(script)?.index;
    if (at !== undefined && (first === undefined || at < first.at)) first = { framework, at };
  }
  if (first) return first.framework;
  if (depth >= 4) return undefined;
  for (const match of script.matchAll(/\b(?:npm\s+(?:run(?:-script)?\s+)?|yarn\s+(?:run\s+)?|pnpm\s+(?:run\s+)?|run-s\s+|run-p\s+)([\w:.-]+)/g)) {
    const name = match[1] === 't' ? 'test' : (match[1] ?? '');
    const next = scripts[name];
    const found = typeof next === 'string' && next !== script ? runnerOfScript(next, scripts, depth + 1) : undefined;
    if (found) return found;
  }
  return undefined;
}

/**
 * Detects the repository's test framework from package.json: the runner its `test` script runs
 * (following `npm run x` into other scripts; `node --test` is node:test), else the first test
 * runner among its dependencies (Vitest, Jest, Mocha, AVA, Jasmine, node-tap, tape).
 */
export function detectFramework(packageJson: unknown): TestFramework | undefined {
  if (!packageJson || typeof packageJson !== 'object') return undefined;
  const pkg = packageOf(packageJson);
  const scripts = pkg.scripts ?? {};
  const script = scripts['test'];
  const fromScript = typeof script === 'string' ? runnerOfScript(script, scripts) : undefined;
  if (fromScript) return fromScript;
  return RUNNER_PACKAGES.find(([, name]) => dependency(pkg, name) !== undefined)?.[0];
}

const JS_SOURCE = /\.(c|m)?js$/;
const TS_SOURCE = /\.(c|m)?tsx?$/;

/** Whether the repository's runner runs TypeScript test files as it is set up. */
function runsTypeScript(framework: TestFramework, pkg: PackageFacts): boolean {
  const has = (name: string) => dependency(pkg, name) !== undefined;
  const testScript = typeof pkg.scripts?.['test'] === 'string' ? pkg.scripts['test'] : '';
  switch (framework) {
    case 'vitest':
      return true;
    case 'jest':
      return has('ts-jest') || has('@swc/jest');
    case 'mocha':
      return has('ts-node') || has('tsx') || has('ts-mocha') || /\b(ts-node|tsx|@swc-node|esbuild-register)\b/.test(testScript);
    case 'tap':
      return (majorOf(dependency(pkg, 'tap')) ?? 0) >= 18;
    default:
      return false;
  }
}

/**
 * Maps a frame's file name (often an absolute path on the production host, or a `file://` URL) to
 * a tracked file: the tracked path that is the longest suffix of it.
 */
export function repositoryPathOf(filename: string, files: readonly string[]): string | undefined {
  const normalized = filename.replace(/^file:\/\//, '').replace(/\\/g, '/').replace(/^webpack:\/\/[^/]*\//, '');
  let best: string | undefined;
  for (const file of files) {
    if ((normalized === file || normalized.endsWith(`/${file}`)) && (best === undefined || file.length > best.length)) best = file;
  }
  return best;
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** A frame's function name as a property to call: `Cart.total` -> `total`, `Object.<anonymous>` -> none. */
function callableName(fn: string | undefined): string | undefined {
  if (!fn) return undefined;
  // `module.exports` (V8's name for `module.exports = function …`) is the module itself, not an export named "exports".
  if (/^(module\.)?exports$/.test(fn.replace(/^async /, ''))) return undefined;
  const last = fn.replace(/^async /, '').split('.').pop() ?? '';
  return IDENTIFIER.test(last) && last !== 'anonymous' && !RESERVED.has(last) ? last : undefined;
}

const RESERVED = new Set(['await', 'break', 'case', 'catch', 'class', 'const', 'continue', 'debugger', 'default', 'delete', 'do', 'else', 'enum', 'export', 'extends', 'false', 'finally', 'for', 'function', 'if', 'import', 'in', 'instanceof', 'let', 'new', 'null', 'return', 'static', 'super', 'switch', 'this', 'throw', 'true', 'try', 'typeof', 'var', 'void', 'while', 'with', 'yield', 'test', 'assert', 'expect', 'captured', 'input', 'thrownBy', 't', 'it']);

/** Where the repository keeps its tests, and how it names them. */
interface TestLayout {
  readonly dir: string;
  /** `.test`, `.spec`, or empty for plain names in a test directory (`test/cart.js`). */
  readonly suffix: string;
}

const TEST_FILE = /\.(test|spec)\.[cm]?[jt]sx?$/i;
const TEST_DIR = /(^|\/)(test|tests|spec|__tests__)\//;
const NOT_TESTS = /(^|\/)(node_modules|dist|build|coverage|fixtures?|__fixtures__|__snapshots__|helpers?|support|utils?)\//;

function testLayout(files: readonly string[], framework: TestFramework): TestLayout {
  const tests = files.filter((f) => !NOT_TESTS.test(f) && /\.[cm]?[jt]sx?$/.test(f) && (TEST_FILE.test(f) || TEST_DIR.test(f)));
  const byDir = new Map<string, string[]>();
  for (const file of tests) byDir.set(dirOf(file), [...(byDir.get(dirOf(file)) ?? []), file]);
  const chosen = [...byDir.entries()].sort((a, b) => b[1].length - a[1].length || a[0].length - b[0].length)[0];
  if (!chosen) {
    const dir = framework === 'jasmine' ? 'spec' : files.some((f) => f.startsWith('tests/')) ? 'tests' : 'test';
    return { dir, suffix: framework === 'jasmine' ? '.spec' : '.test' };
  }
  const count = (kind: string) => chosen[1].filter((f) => new RegExp(`\\${kind}\\.[cm]?[jt]sx?$`, 'i').test(f)).length;
  const suffixes: Array<[string, number]> = [
    ['.test', count('.test')],
    ['.spec', count('.spec')],
    ['', chosen[1].length - count('.test') - count('.spec')],
  ];
  const suffix = suffixes.sort((a, b) => b[1] - a[1])[0]?.[0] ?? '.test';
  // A plain name is a test only inside a test directory.
  return { dir: chosen[0], suffix: suffix === '' && !TEST_DIR.test(`${chosen[0]}/`) ? '.test' : suffix };
}

/** How a generated test is written: its framework, module system, language and assertion library. */
export interface TestStyle {
  readonly framework: TestFramework;
  readonly esm: boolean;
  readonly typescript: boolean;
  readonly chai: boolean;
}

/**
 * Builds a regression test that calls the top in-app frame's exported function with the captured
 * request data (a JSON body sent as text is parsed first; no argument when none was captured) and
 * fails while the captured exception recurs (same name and message): it fails on the unpatched
 * code when the failure is reproducible and passes once the patch fixes it. Any other outcome
 * passes — a typed error the patch now throws, or a missing export, proves nothing here; the
 * reproduction gate judges those.
 *
 * It is written as a person of the repository would: in its framework (Jest, Vitest, Mocha,
 * node:test, Jasmine, AVA, node-tap, tape) and its assertion style (Mocha with chai when the
 * repository uses chai), where it keeps its tests and named as they are, in its module system
 * (`import` in `"type": "module"` packages and for `.mjs` sources, `require` otherwise), in
 * TypeScript when the target is TypeScript and the runner runs it. Captured values are JavaScript
 * literals built by {@link jsLiteral}: data, never code.
 *
 * @param id a short unique id used in the file name (e.g. the first 8 characters of the patch id).
 */
export function buildReproduction(failure: CapturedFailure, repo: RepositoryFacts, id: string): GeneratedReproduction | NoReproduction {
  const framework = detectFramework(repo.packageJson);
  if (!framework) return { kind: 'none', reason: 'no test framework was detected in package.json (Jest, Vitest, Mocha, node:test, Jasmine, AVA, tap or tape in the test script or the dependencies).' };
  const pkg = packageOf(repo.packageJson);
  const typescript = runsTypeScript(framework, pkg);
  const callable = (file: string) => JS_SOURCE.test(file) || (typescript && TS_SOURCE.test(file));
  const inApp = [...failure.frames].reverse().filter((f) => f.inApp);
  if (inApp.length === 0) return { kind: 'none', reason: 'the captured stack has no in-app frame to call.' };
  let target: { file: string; fn: string } | undefined;
  const skipped: string[] = [];
  for (const frame of inApp) {
    const file = repositoryPathOf(frame.filename, repo.files);
    const fn = callableName(frame.function);
    if (file && fn && callable(file)) {
      target = { file, fn };
      break;
    }
    skipped.push(`${frame.filename}${frame.function ? ` in ${frame.function}` : ''}`);
  }
  if (!target) {
    return {
      kind: 'none',
      reason: `no in-app frame names a named function in a JavaScript file of the repository${typescript ? ` (or a TypeScript file ${framework} runs)` : ''} (looked at ${skipped.slice(0, 3).join('; ')}).`,
    };
  }
  const ts = TS_SOURCE.test(target.file);
  const packageEsm = pkg.type === 'module';
  // A `.mjs` source cannot be required (Node 20); a `.cjs` test can import neither syntax nor ESM.
  const esm = framework === 'vitest' || ts || packageEsm || /\.mjs$/.test(target.file);
  const layout = testLayout(repo.files, framework);
  const extension = ts ? 'ts' : esm === packageEsm || framework === 'vitest' ? 'js' : esm ? 'mjs' : 'cjs';
  const testFile = `${layout.dir ? `${layout.dir}/` : ''}antibody-repro-${id}${layout.suffix}.${extension}`;
  const chaiMajor = majorOf(dependency(pkg, 'chai'));
  const style: TestStyle = { framework, esm: esm || /\.mjs$/.test(testFile), typescript: ts, chai: framework === 'mocha' && chaiMajor !== undefined && (chaiMajor < 5 || esm) };
  const type = /^[A-Za-z_$][\w$.]*/.exec(failure.exception.type)?.[0] ?? 'error';
  const testName = `antibody reproduction: ${type} in ${target.fn}`;
  const modulePath = relativeImport(testFile, target.file);
  const input = failure.request?.data !== undefined ? 'request data' : 'none';
  const source = renderTest(style, { testName, modulePath: ts ? modulePath.replace(TS_SOURCE, '') : modulePath, fn: target.fn, failure, input: input === 'request data' ? { value: decodeBody(failure.request?.data) } : undefined });
  return { kind: 'built', framework, testFile, testName, source, target: { file: target.file, function: target.fn, input } };
}

/** An SDK sends a JSON body as text (Sentry's `request.data`): the function got it parsed. */
function decodeBody(data: unknown): unknown {
  if (typeof data !== 'string') return data;
  try {
    return JSON.parse(data) as unknown;
  } catch {
    return data;
  }
}

function dirOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? '' : path.slice(0, i);
}

function relativeImport(from: string, to: string): string {
  const fromParts = dirOf(from).split('/').filter(Boolean);
  const toParts = to.split('/');
  let common = 0;
  while (common < fromParts.length && common < toParts.length - 1 && fromParts[common] === toParts[common]) common++;
  const up = fromParts.slice(common).map(() => '..');
  const rel = [...up, ...toParts.slice(common)].join('/');
  return rel.startsWith('.') ? rel : `./${rel}`;
}

/** Text safe inside a `//` comment: no line terminators or control characters, bounded. */
function commentText(text: string): string {
  // eslint-disable-next-line no-control-regex -- control characters and line terminators would end the comment
  const flat = text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ').trim();
  return flat.length > 100 ? `${flat.slice(0, 100)}…` : flat;
}

const LINE_WIDTH = 100;

/**
 * A JavaScript literal for a captured value: strings escaped and quoted, numbers, booleans, null,
 * bigints, arrays and plain objects (keys quoted unless they are plain identifiers; `__proto__`
 * as a computed key, so it stays an own property). Anything else (a function, a symbol, a class
 * instance) becomes `undefined`: the literal is data, never code. Short values stay on one line;
 * longer ones are indented two spaces per level from `indent`.
 */
export function jsLiteral(value: unknown, indent = ''): string {
  const seen = new Set<object>();
  const render = (v: unknown, pad: string): string => {
    if (v === null) return 'null';
    switch (typeof v) {
      case 'string':
        return stringLiteral(v);
      case 'number':
        return Object.is(v, -0) ? '-0' : Number.isNaN(v) ? 'NaN' : v === Infinity ? 'Infinity' : v === -Infinity ? '-Infinity' : String(v);
      case 'bigint':
        return `${v}n`;
      case 'boolean':
        return String(v);
      case 'object':
        break;
      default:
        return 'undefined';
    }
    const object = v as object;
    const proto = Object.getPrototypeOf(object) as unknown;
    const isArray = Array.isArray(object);
    if (seen.has(object) || (!isArray && proto !== Object.prototype && proto !== null)) return 'undefined';
    seen.add(object);
    const inner = `${pad}  `;
    const entries = isArray
      ? Array.from(object as unknown[], (item) => render(item, inner))
      : Object.keys(object).map((key) => `${propertyKey(key)}: ${render((object as Record<string, unknown>)[key], inner)}`);
    seen.delete(object);
    const [open, close] = isArray ? ['[', ']'] : ['{ ', ' }'];
    if (entries.length === 0) return isArray ? '[]' : '{}';
    const oneLine = `${open}${entries.join(', ')}${close}`;
    if (!oneLine.includes('\n') && pad.length + oneLine.length <= LINE_WIDTH) return oneLine;
    return `${open.trim()}\n${entries.map((e) => `${inner}${e},`).join('\n')}\n${pad}${close.trim()}`;
  };
  return render(value, indent);
}

function propertyKey(key: string): string {
  if (key === '__proto__') return `['__proto__']`;
  if (IDENTIFIER.test(key) || /^(0|[1-9]\d{0,15})$/.test(key)) return key;
  return stringLiteral(key);
}

/** A quoted string literal: single quotes (double when that saves escapes), every character that could end it escaped. */
function stringLiteral(text: string): string {
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  let out = quote;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    const code = ch.charCodeAt(0);
    if (ch === quote || ch === '\\') out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (code < 0x20 || (code >= 0x7f && code <= 0x9f)) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else if (code === 0x2028 || code === 0x2029) out += `\\u${code.toString(16)}`;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length && /[\udc00-\udfff]/.test(text[i + 1] as string)) out += ch + (text[++i] as string);
    else if (code >= 0xd800 && code <= 0xdfff) out += `\\u${code.toString(16)}`;
    else out += ch;
  }
  return out + quote;
}

/** The lines that bring in the framework and the assertions, in the test's module system. */
function frameworkImports(style: TestStyle): string[] {
  const { framework, esm, typescript } = style;
  const imp = (names: string, from: string, defaultImport = false) => (esm ? `import ${defaultImport ? names : `{ ${names} }`} from '${from}';` : `const ${defaultImport ? names : `{ ${names} }`} = require('${from}');`);
  const nodeAssert = typescript ? (esm ? `import { strict as assert } from 'node:assert';` : `const { strict: assert } = require('node:assert');`) : esm ? `import assert from 'node:assert/strict';` : `const assert = require('node:assert/strict');`;
  switch (framework) {
    case 'jest':
    case 'jasmine':
      return [];
    case 'vitest':
      return [imp('expect, test', 'vitest')];
    case 'mocha':
      return [style.chai ? imp('expect', 'chai') : nodeAssert];
    case 'node:test':
      return [imp('test', 'node:test'), nodeAssert];
    case 'ava':
      return [imp('test', 'ava', true)];
    case 'tap':
      return [imp('t', 'tap', true)];
    case 'tape':
      return [imp('test', 'tape', true)];
  }
}

/** The test itself, in the framework's words: `thrown` is the call's outcome, `captured` the error it must not be. */
function testBlock(style: TestStyle, name: string, call: string): string {
  const title = stringLiteral(name);
  const thrown = `await thrownBy(() => ${call})`;
  switch (style.framework) {
    case 'jest':
    case 'vitest':
      return `test(${title}, async () => {\n  expect(${thrown}).not.toEqual(captured);\n});`;
    case 'jasmine':
      return `it(${title}, async () => {\n  expect(${thrown}).not.toEqual(captured);\n});`;
    case 'mocha':
      return style.chai ? `it(${title}, async () => {\n  expect(${thrown}).to.not.deep.equal(captured);\n});` : `it(${title}, async () => {\n  assert.notDeepStrictEqual(${thrown}, captured);\n});`;
    case 'node:test':
      return `test(${title}, async () => {\n  assert.notDeepStrictEqual(${thrown}, captured);\n});`;
    case 'ava':
      return `test(${title}, async (t) => {\n  t.notDeepEqual(${thrown}, captured);\n});`;
    case 'tap':
      return `t.test(${title}, async (t) => {\n  t.notSame(${thrown}, captured);\n});`;
    case 'tape':
      // tape before 5 ignores a returned promise: the plan ends the test.
      return `test(${title}, async (t) => {\n  t.plan(1);\n  t.notDeepEqual(${thrown}, captured);\n});`;
  }
}

/** The source of the regression test (see {@link buildReproduction}). */
export function renderTest(style: TestStyle, t: { testName: string; modulePath: string; fn: string; failure: CapturedFailure; input?: { value: unknown } }): string {
  const { esm, typescript } = style;
  const request = t.failure.request;
  const where = request ? ` on ${commentText(`${request.method} ${request.url}`)}` : '';
  const targetImport = esm ? `import { ${t.fn} } from ${stringLiteral(t.modulePath)};` : `const { ${t.fn} } = require(${stringLiteral(t.modulePath)});`;
  const input = t.input ? `const input = ${jsLiteral(t.input.value)}${typescript ? ` as unknown as Parameters<typeof ${t.fn}>[0]` : ''};\n` : '';
  const call = t.input ? `${t.fn}(input)` : typescript ? `(${t.fn} as () => unknown)()` : `${t.fn}()`;
  const helper = typescript
    ? `async function thrownBy(call: () => unknown): Promise<{ name: string; message: string } | undefined> {
  try {
    await call();
    return undefined;
  } catch (error) {
    const { name, message } = Object(error) as Error;
    return { name, message };
  }
}`
    : `async function thrownBy(call) {
  try {
    await call();
    return undefined;
  } catch (error) {
    const { name, message } = Object(error);
    return { name, message };
  }
}`;
  return `${[...frameworkImports(style), targetImport].join('\n')}

// ${commentText(`${t.failure.exception.type}: ${t.failure.exception.value}`)}
// Captured by Antibody in ${t.fn}()${where}. This test fails while ${t.fn}() throws it again.
${input}const captured = { name: ${stringLiteral(t.failure.exception.type)}, message: ${stringLiteral(t.failure.exception.value)} };

/** How a call ended: the name and message of what it threw, or undefined when it returned. */
${helper}

${testBlock(style, t.testName, call)}
`;
}

/** The test file as a unified diff adding it, so it can travel with the patch. */
export function additionDiff(path: string, content: string): string {
  const lines = content.endsWith('\n') ? content.slice(0, -1).split('\n') : content.split('\n');
  const body = lines.map((l) => `+${l}`).join('\n');
  const noNewline = content.endsWith('\n') ? '' : '\n\\ No newline at end of file';
  return `diff --git a/${path} b/${path}\nnew file mode 100644\n--- /dev/null\n+++ b/${path}\n@@ -0,0 +1,${lines.length} @@\n${body}${noNewline}\n`;
}
