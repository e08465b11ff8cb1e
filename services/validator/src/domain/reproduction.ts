/**
 * Builds a regression test from a captured failure, in the repository's own test framework. Pure:
 * the caller reads package.json and the file list and writes the result.
 */
import type { EventData } from '@antibody/contracts';

/** A failure as the SDK captured it: the `ErrorRecorded` event's data, reduced to what a reproduction needs. */
export type CapturedFailure = Pick<EventData<'ErrorRecorded'>, 'exception' | 'frames' | 'request'>;

/** A test framework the generator writes for. */
export type TestFramework = 'jest' | 'node:test';

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

/** Detects the repository's test framework from package.json (dependencies first, then the test script). */
export function detectFramework(packageJson: unknown): TestFramework | undefined {
  if (!packageJson || typeof packageJson !== 'object') return undefined;
  const pkg = packageJson as { dependencies?: Record<string, string>; devDependencies?: Record<string, string>; scripts?: Record<string, string> };
  const script = pkg.scripts?.['test'] ?? '';
  if (/\bnode\b[^&|;]*--test\b/.test(script)) return 'node:test';
  if (pkg.devDependencies?.['jest'] !== undefined || pkg.dependencies?.['jest'] !== undefined || /\bjest\b/.test(script)) return 'jest';
  return undefined;
}

const JS_SOURCE = /\.(c|m)?js$/;
const TS_SOURCE = /\.(c|m)?tsx?$/;

/** Jest runs TypeScript test files only through a transform the repository installs. */
function jestRunsTypeScript(packageJson: unknown): boolean {
  const pkg = (packageJson ?? {}) as { dependencies?: Record<string, string>; devDependencies?: Record<string, string> };
  return ['ts-jest', '@swc/jest'].some((d) => pkg.devDependencies?.[d] !== undefined || pkg.dependencies?.[d] !== undefined);
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
  const last = fn.replace(/^async /, '').split('.').pop() ?? '';
  return IDENTIFIER.test(last) && last !== 'anonymous' ? last : undefined;
}

/**
 * Builds a test that calls the top in-app frame's exported function with the captured request
 * data (or with no argument when none was captured) and fails when the captured exception recurs
 * (same type and message). So it fails on the unpatched code when the failure is reproducible and
 * passes once the patch fixes it. Only JavaScript modules in the repository are called; the
 * reason says which condition was not met otherwise.
 *
 * @param id a short unique id used in the file name (e.g. the first 8 characters of the patch id).
 */
export function buildReproduction(failure: CapturedFailure, repo: RepositoryFacts, id: string): GeneratedReproduction | NoReproduction {
  const framework = detectFramework(repo.packageJson);
  if (!framework) return { kind: 'none', reason: 'no supported test framework (Jest or node:test) was detected in package.json.' };
  if ((repo.packageJson as { type?: string } | undefined)?.type === 'module') {
    return { kind: 'none', reason: 'the package is an ES module package ("type": "module"); the generator writes CommonJS tests only.' };
  }
  const typescript = framework === 'jest' && jestRunsTypeScript(repo.packageJson);
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
    return { kind: 'none', reason: `no in-app frame names a named function in a JavaScript file of the repository${typescript ? ' (or a TypeScript file Jest transforms)' : ''} (looked at ${skipped.slice(0, 3).join('; ')}).` };
  }
  const input = failure.request?.data !== undefined ? 'request data' : 'none';
  const testDir = repo.files.some((f) => f.startsWith('test/')) ? 'test' : repo.files.some((f) => f.startsWith('tests/')) ? 'tests' : dirOf(target.file);
  // A TypeScript target gets a TypeScript test, so the repository's Jest (ts-jest) picks it up.
  const ts = TS_SOURCE.test(target.file);
  const testFile = `${testDir ? `${testDir}/` : ''}antibody-repro-${id}.test.${ts ? 'ts' : 'js'}`;
  const testName = `antibody reproduction: ${failure.exception.type} in ${target.fn}`;
  const modulePath = relativeImport(testFile, target.file);
  const rendered = renderTest(framework, { testName, modulePath: ts ? modulePath.replace(TS_SOURCE, '') : modulePath, fn: target.fn, failure, hasInput: input === 'request data' });
  // The generated code is plain JavaScript: the type checker must not judge it (strict catch variables…).
  const source = ts ? `// @ts-nocheck\n${rendered}` : rendered;
  return { kind: 'built', framework, testFile, testName, source, target: { file: target.file, function: target.fn, input } };
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

function renderTest(framework: TestFramework, t: { testName: string; modulePath: string; fn: string; failure: CapturedFailure; hasInput: boolean }): string {
  // Captured values are embedded as JSON string literals only: error payloads are untrusted input
  // and must never become code.
  const lit = (value: unknown): string => JSON.stringify(value);
  const header = framework === 'node:test' ? "const { test } = require('node:test');\n" : '';
  const request = t.failure.request;
  return `${header}// Generated by Antibody from a captured ${t.failure.exception.type}${request ? ` (${request.method} ${request.url})` : ''}.
// It fails while the captured exception recurs and passes once it is fixed.
const captured = { type: ${lit(t.failure.exception.type)}, message: ${lit(t.failure.exception.value)} };
// An SDK sends a JSON body as text (Sentry's request.data): the function got it parsed.
const decode = (value) => {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
};
const input = ${t.hasInput ? `decode(JSON.parse(${lit(JSON.stringify(request?.data))}))` : 'undefined'};

test(${lit(t.testName)}, async () => {
  const mod = require(${lit(t.modulePath)});
  const fn = typeof mod[${lit(t.fn)}] === 'function' ? mod[${lit(t.fn)}] : mod.default && mod.default[${lit(t.fn)}];
  if (typeof fn !== 'function') throw new Error('antibody reproduction: ' + ${lit(t.modulePath)} + ' does not export ' + ${lit(t.fn)});
  let error;
  try {
    await (${t.hasInput ? 'fn(input)' : 'fn()'});
  } catch (e) {
    error = e;
  }
  const name = error && (error.name || (error.constructor && error.constructor.name));
  if (error && name === captured.type && String(error.message) === captured.message) {
    throw error;
  }
});
`;
}

/** The test file as a unified diff adding it, so it can travel with the patch. */
export function additionDiff(path: string, content: string): string {
  const lines = content.endsWith('\n') ? content.slice(0, -1).split('\n') : content.split('\n');
  const body = lines.map((l) => `+${l}`).join('\n');
  const noNewline = content.endsWith('\n') ? '' : '\n\\ No newline at end of file';
  return `diff --git a/${path} b/${path}\nnew file mode 100644\n--- /dev/null\n+++ b/${path}\n@@ -0,0 +1,${lines.length} @@\n${body}${noNewline}\n`;
}
