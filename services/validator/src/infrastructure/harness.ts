// The reproduction harness: a small CommonJS program, written into the worktree for one run and
// removed after, that loads the module as the application did and makes the planned call (see
// domain/call-reproduction.ts), then prints how the call ended as its last line of output, after a
// marker (the called code may print too). It runs in
// the sandbox like every other step, with `--enable-source-maps`, so frames of built code with
// source maps name their sources. Captured values are data (JSON), decoded by the harness: never
// code.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { CallOutcome, HarnessPlan } from '../domain/call-reproduction';
import { DECODE_SOURCE } from './captured-values';
import { exitCodeResult } from '../domain/test-results';
import { violationsInOutput, violationsOfRun } from '../domain/violations';
import { runSandboxed, scrubbedEnv } from './sandbox';
import type { RunContext, StepRun } from './test-runner';
import type { Workspaces } from './workspace';

/** Where the harness is written in the worktree (inside the package, so the package can import itself by name). */
const HARNESS_DIR = '.antibody-reproduce';

/** Starts the harness's line with the outcome. */
const MARKER = 'ANTIBODY_REPRODUCTION ';

/** How long one call may take before it counts as not ending. */
const CALL_TIME_LIMIT_MS = 60_000;

/**
 * Makes the planned call in the sandbox; the outcome is `harness-failed` when the harness itself
 * could not do its part (no module, no export, no result written: killed, out of time).
 */
export async function runHarness(context: RunContext, workspaces: Workspaces, step: string, plan: HarnessPlan, fileOwner: number | undefined): Promise<{ run: StepRun; outcome: CallOutcome }> {
  const { workspace } = context;
  await workspaces.writeFile(workspace, `${HARNESS_DIR}/reproduce.cjs`, HARNESS_SOURCE, fileOwner);
  await workspaces.writeFile(workspace, `${HARNESS_DIR}/plan.json`, JSON.stringify({ ...plan, typescript: typescriptPath() }), fileOwner);
  const command = `node --enable-source-maps ${HARNESS_DIR}/reproduce.cjs`;
  try {
    const result = await runSandboxed({
      command,
      cwd: workspace.worktree,
      writable: [workspace.worktree, workspace.home, workspace.tmp],
      env: scrubbedEnv(workspace.home, workspace.tmp),
      network: 'none',
      limits: { ...context.limits, timeLimitMs: Math.min(context.limits.timeLimitMs, CALL_TIME_LIMIT_MS) },
      uid: context.uid,
      ...(context.signal ? { signal: context.signal } : {}),
    });
    const line = result.output.split('\n').reverse().find((l) => l.startsWith(MARKER));
    let outcome: CallOutcome;
    if (line) outcome = JSON.parse(line.slice(MARKER.length)) as CallOutcome;
    else if (result.timedOut) outcome = { outcome: 'harness-failed', reason: `the call did not end within ${Math.round(CALL_TIME_LIMIT_MS / 1000)} s` };
    else outcome = { outcome: 'harness-failed', reason: `the harness ended without a result (exit ${result.exitCode ?? result.signal ?? 'unknown'}): ${lastLine(result.output)}` };
    const violations = [...violationsOfRun({ timedOut: result.timedOut, outputCapped: result.outputCapped, signal: result.signal, timeLimitMs: CALL_TIME_LIMIT_MS }), ...violationsInOutput(result.output)];
    const run: StepRun = {
      step,
      command,
      summary: { results: exitCodeResult(command, result.exitCode, result.durationMs, result.output.slice(-2000)), exitCode: result.exitCode, timedOut: result.timedOut || result.outputCapped, violations },
      output: result.output,
      durationMs: result.durationMs,
      enforced: result.enforced,
    };
    return { run, outcome };
  } finally {
    // Gone before any later step runs: a linter in the test command must never see it.
    await rm(join(workspace.worktree, HARNESS_DIR), { recursive: true, force: true });
  }
}

function lastLine(output: string): string {
  const lines = output.trim().split('\n');
  return (lines[lines.length - 1] ?? '').slice(0, 300) || 'no output';
}

/** The validator's own TypeScript, used to load a repository's `.ts` sources when the call names one. */
function typescriptPath(): string | undefined {
  try {
    return require.resolve('typescript');
  } catch {
    return undefined;
  }
}

/** The harness program. Plain CommonJS for any Node.js the repository runs on. */
export const HARNESS_SOURCE = String.raw`'use strict';
// Written by Antibody's validator: makes the captured failing call once and records how it ended.
const fs = require('node:fs');
const path = require('node:path');
const Module = require('node:module');
const { pathToFileURL } = require('node:url');

const here = __dirname;
const root = path.resolve(here, '..');
const realRoot = fs.realpathSync(root);
const plan = JSON.parse(fs.readFileSync(path.join(here, 'plan.json'), 'utf8'));
let written = false;
function finish(result) {
  if (written) return;
  written = true;
  fs.writeSync(1, '\n' + ${JSON.stringify(MARKER)} + JSON.stringify(result) + '\n');
}

${DECODE_SOURCE}
// A repository's TypeScript sources load through the validator's own compiler (types are not checked here).
function registerTypeScript() {
  if (!plan.typescript) throw new Error('no TypeScript compiler is available to load a .ts module');
  const ts = require(plan.typescript);
  const compile = (module, filename) => {
    const source = fs.readFileSync(filename, 'utf8');
    const { outputText } = ts.transpileModule(source, { fileName: filename, compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2020, esModuleInterop: true, sourceMap: false, inlineSourceMap: true, jsx: ts.JsxEmit.React } });
    module._compile(outputText, filename);
  };
  for (const ext of ['.ts', '.tsx', '.cts', '.mts']) Module._extensions[ext] = compile;
  // ESM-style TypeScript imports name the emitted file ('./cart.js' for cart.ts).
  const resolve = Module._resolveFilename;
  Module._resolveFilename = function (request, parent, ...rest) {
    try {
      return resolve.call(this, request, parent, ...rest);
    } catch (error) {
      if (/^\.\.?\//.test(request) && /\.(c|m)?js$/.test(request)) return resolve.call(this, request.replace(/\.(c|m)?js$/, '.$1ts'), parent, ...rest);
      throw error;
    }
  };
}

async function load(ref) {
  const rootRequire = Module.createRequire(path.join(root, 'package.json'));
  // As the application loaded it: import() for ES modules, require() otherwise (and import() when
  // require() refuses an ES module).
  const loadAs = async (target, asUrl) => {
    if (plan.prefer === 'import' || target.endsWith('.mjs')) return import(asUrl);
    try {
      return rootRequire(target);
    } catch (error) {
      if (error && ['ERR_REQUIRE_ESM', 'ERR_REQUIRE_ASYNC_MODULE', 'ERR_PACKAGE_PATH_NOT_EXPORTED'].includes(error.code)) return import(asUrl);
      throw error;
    }
  };
  if (ref.kind === 'file') {
    const file = path.join(root, ref.path);
    if (/\.(c|m)?tsx?$/.test(file)) {
      registerTypeScript();
      return rootRequire(file);
    }
    return loadAs(file, pathToFileURL(file).href);
  }
  // The package by its own name, as an application imports it: through its "exports" (a package
  // resolves itself by name before any node_modules), else its files ("main" for the bare name),
  // never a copy of the same package that a dependency installed under node_modules.
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  if (pkg.exports !== undefined) return loadAs(ref.specifier, ref.specifier);
  const file = rootRequire.resolve(path.join(root, ref.specifier.slice(String(pkg.name).length)));
  return loadAs(file, pathToFileURL(file).href);
}

function walk(start, parts) {
  return parts.reduce((value, key) => (value === undefined || value === null ? undefined : value[key]), start);
}

// The export by its dotted path, on the module or on its default export; a module that is itself
// the function (module.exports = parse) exports it under its own name.
function lookup(mod, dotted) {
  const parts = dotted === '' ? [] : dotted.split('.');
  for (const base of [mod, mod && mod.default]) {
    if (base === undefined || base === null) continue;
    const fn = walk(base, parts);
    // Called as the application calls it: as a method of what holds it (\`pkg.fn(...)\`).
    if (typeof fn === 'function') return { fn, parent: parts.length > 0 ? walk(base, parts.slice(0, -1)) : undefined };
  }
  const itself = mod && typeof mod.default === 'function' ? mod.default : typeof mod === 'function' ? mod : undefined;
  if (itself && parts.length === 1 && itself.name === parts[0]) return { fn: itself, parent: undefined };
  return undefined;
}

// Parameter names of a plain function, to hand it its frame's local variables.
function parameterNames(fn) {
  const source = Function.prototype.toString.call(fn);
  const open = source.indexOf('(');
  if (open < 0) return [];
  let depth = 0;
  let end = open;
  for (let i = open; i < source.length; i++) {
    if ('([{'.includes(source[i])) depth++;
    else if (')]}'.includes(source[i])) depth--;
    if (depth === 0) { end = i; break; }
  }
  const list = [];
  let current = '';
  depth = 0;
  for (const ch of source.slice(open + 1, end)) {
    if ('([{'.includes(ch)) depth++;
    if (')]}'.includes(ch)) depth--;
    if (ch === ',' && depth === 0) { list.push(current); current = ''; } else current += ch;
  }
  if (current.trim() !== '') list.push(current);
  return list.map((p) => p.replace(/\/\*[\s\S]*?\*\//g, '').trim().replace(/^\.\.\./, '').split('=')[0].trim());
}

// The call sites of every error, kept beside the stack Node formats: their generated positions,
// and through the source maps Node loaded (--enable-source-maps), the source positions too.
const SITES = Symbol('antibody call sites');
const nodePrepare = Error.prepareStackTrace;
Error.stackTraceLimit = 50;
Error.prepareStackTrace = (error, sites) => {
  try {
    Object.defineProperty(error, SITES, { value: sites });
  } catch {
    // A frozen or non-extensible error keeps only its formatted stack.
  }
  return nodePrepare ? nodePrepare(error, sites) : String(error) + sites.map((site) => '\n    at ' + site).join('');
};

function relative(file) {
  if (!file) return undefined;
  if (file.startsWith('file://')) file = decodeURIComponent(new URL(file).pathname);
  let rel;
  if (file.startsWith(root + path.sep)) rel = path.relative(root, file);
  else if (file.startsWith(realRoot + path.sep)) rel = path.relative(realRoot, file);
  else return undefined;
  rel = rel.split(path.sep).join('/');
  return rel.startsWith('node_modules/') || rel.startsWith('.antibody-reproduce/') ? undefined : rel;
}

function repositoryFrames(error) {
  if (error && typeof error === 'object') void error.stack; // formats it, which records the sites
  const sites = error && typeof error === 'object' ? error[SITES] : undefined;
  if (!sites) return [];
  const frames = [];
  for (const site of sites) {
    const generated = site.getFileName && site.getFileName();
    const file = relative(generated);
    const line = site.getLineNumber && site.getLineNumber();
    if (!file || !line) continue;
    const fn = site.getFunctionName() || site.getMethodName();
    let source;
    try {
      const map = Module.findSourceMap && Module.findSourceMap(generated);
      const entry = map && map.findEntry(line - 1, (site.getColumnNumber() || 1) - 1);
      if (entry && entry.originalSource) {
        const original = relative(entry.originalSource.startsWith('file://') || path.isAbsolute(entry.originalSource) ? entry.originalSource : path.resolve(path.dirname(generated), entry.originalSource));
        if (original) source = { file: original, line: entry.originalLine + 1 };
      }
    } catch {
      // No usable source map: the generated position stands alone.
    }
    frames.push({ file, line, ...(fn ? { function: fn } : {}), ...(source ? { source } : {}) });
  }
  return frames;
}

function describe(error) {
  const isError = error instanceof Error || (error && typeof error === 'object' && typeof error.message === 'string');
  return {
    type: isError ? String(error.name || (error.constructor && error.constructor.name) || 'Error') : typeof error,
    message: isError ? String(error.message) : String(error),
  };
}

async function main() {
  let chosen;
  const misses = [];
  for (const [index, candidate] of plan.candidates.entries()) {
    let mod;
    try {
      mod = await load(candidate.module);
    } catch (error) {
      const d = describe(error);
      misses.push('cannot load ' + (candidate.module.path || candidate.module.specifier) + ' (' + d.type + ': ' + d.message.split('\n')[0] + ')');
      continue;
    }
    const found = lookup(mod, candidate.export);
    if (!found || typeof found.fn !== 'function') {
      misses.push((candidate.module.path || candidate.module.specifier) + ' exports no function ' + JSON.stringify(candidate.export));
      continue;
    }
    chosen = { index, candidate, fn: found.fn, self: found.parent };
    break;
  }
  if (!chosen) return finish({ outcome: 'harness-failed', reason: misses.join('; ') || 'no call was planned' });
  const { candidate, fn, self, index } = chosen;
  const args = candidate.input === 'locals'
    ? parameterNames(fn).map((name) => decode(candidate.vars[name], true))
    : (candidate.args || []).map((a) => decode(a, false));
  try {
    const result = candidate.construct ? new fn(...args) : fn.apply(self, args);
    if (result && typeof result.then === 'function') await result;
    finish({ outcome: 'returned', candidate: index });
  } catch (error) {
    finish({ outcome: 'threw', ...describe(error), frames: repositoryFrames(error), candidate: index });
  }
}

main()
  .catch((error) => finish({ outcome: 'harness-failed', reason: 'the harness failed: ' + describe(error).message }))
  .finally(() => process.exit(0));
`;
