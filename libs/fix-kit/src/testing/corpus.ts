import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import ts from 'typescript';
import { analyseError, type Analysis } from '../analyse';
import type { FrameFacts } from '../localise';
import type { PathPolicy } from '../policy';
import { proposeTemplateFixes, type CandidatePatch } from '../propose';

/** One buggy snippet of the corpus (`<dir>/case.json` next to its sources and `*.test.js`). */
export interface CorpusCase {
  readonly name: string;
  readonly dir: string;
  readonly file: string;
  readonly error: { readonly type: string; readonly message: string };
  /** Oldest call first; each frame's line is the first line of its file containing `match`. */
  readonly frames: readonly { readonly function: string; readonly match: string; readonly file?: string }[];
  readonly policy: PathPolicy;
  /** `template`: a template fix must pass the tests; `none`: no template applies; `refused`: the policy must block the fix. */
  readonly expect: 'template' | 'none' | 'refused';
  /** Text of the line where the localiser must put the best fix, when the case is about localisation. */
  readonly expectFixLine?: string;
  /** What the failing test output shows when it differs from the recorded message (e.g. an unhandled rejection's reason). */
  readonly observed?: string;
}

const DEFAULT_POLICY: PathPolicy = { allowedPaths: ['src/**'], forbiddenPaths: [] };

/** Loads every case under `root`, sorted by name. */
export function loadCorpus(root: string): CorpusCase[] {
  return readdirSync(root, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(root, d.name, 'case.json')))
    .map((d) => d.name)
    .sort()
    .map((name) => {
      const dir = join(root, name);
      const raw = JSON.parse(readFileSync(join(dir, 'case.json'), 'utf8')) as Omit<CorpusCase, 'name' | 'dir' | 'policy'> & { policy?: PathPolicy };
      return { ...raw, name, dir, policy: raw.policy ?? DEFAULT_POLICY };
    });
}

/** The frames of a case, as ingest would record them (absolute deploy paths, context lines). */
export function framesOf(c: CorpusCase): FrameFacts[] {
  return c.frames.map((f) => {
    const file = f.file ?? c.file;
    const lines = readFileSync(join(c.dir, file), 'utf8').split('\n');
    const index = lines.findIndex((l) => l.includes(f.match));
    if (index < 0) throw new Error(`corpus case ${c.name}: no line of ${file} contains ${JSON.stringify(f.match)}`);
    return { filename: `/srv/app/${file}`, function: f.function, lineno: index + 1, inApp: true, contextLine: lines[index] };
  });
}

/** Reads case files as the analyser would read them from git. */
export function caseReader(c: CorpusCase): (path: string) => Promise<string | undefined> {
  return async (path) => {
    const full = join(c.dir, path);
    return existsSync(full) && !path.includes('..') ? readFileSync(full, 'utf8') : undefined;
  };
}

/** Diagnosis and ranked template candidates for a case (no test run). */
export async function diagnoseAndPropose(c: CorpusCase): Promise<{ analysis: Analysis; candidates: readonly CandidatePatch[]; refused: readonly { file: string; reason: string }[] }> {
  const analysis = await analyseError({ errorType: c.error.type, message: c.error.message, frames: framesOf(c), read: caseReader(c) });
  const rule = analysis.match?.rule;
  if (!rule) return { analysis, candidates: [], refused: [] };
  const proposal = proposeTemplateFixes({
    ruleId: rule.id,
    errorClass: rule.errorClass,
    strategies: rule.strategies,
    ruleConfidence: rule.confidence,
    errorType: c.error.type,
    message: c.error.message,
    captures: analysis.match?.captures ?? {},
    sites: analysis.localisation.sites,
    policy: c.policy,
  });
  return { analysis, ...proposal };
}

/** The result of running a case's own tests on one version of its code. */
export interface TestRun {
  readonly passed: boolean;
  readonly output: string;
}

/**
 * Copies the case to a temporary directory, replaces `file` with `content` (when given),
 * transpiles TypeScript sources to CommonJS next to them, and runs every `*.test.js` with node.
 */
export async function runCaseTests(c: CorpusCase, replace?: { file: string; content: string }): Promise<TestRun> {
  const work = mkdtempSync(join(tmpdir(), `corpus-${c.name}-`));
  try {
    cpSync(c.dir, work, { recursive: true });
    if (replace) {
      mkdirSync(dirname(join(work, replace.file)), { recursive: true });
      writeFileSync(join(work, replace.file), replace.content);
    }
    transpileTree(work);
    const tests = readdirSync(work).filter((f) => f.endsWith('.test.js')).sort();
    let output = '';
    for (const test of tests) {
      const r = await new Promise<{ code: number; out: string }>((resolve) => {
        execFile(process.execPath, [join(work, test)], { cwd: work, timeout: 20_000, env: { PATH: process.env['PATH'] ?? '' } }, (error, stdout, stderr) => {
          const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
          resolve({ code, out: `${stdout}${stderr}` });
        });
      });
      output += r.out;
      if (r.code !== 0) return { passed: false, output };
    }
    return { passed: tests.length > 0, output };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function transpileTree(dir: string): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) transpileTree(full);
    else if (/\.ts$/.test(entry.name) && !/\.d\.ts$/.test(entry.name)) {
      const out = ts.transpileModule(readFileSync(full, 'utf8'), { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true }, fileName: full });
      writeFileSync(full.replace(/\.ts$/, '.js'), out.outputText);
    }
  }
}

/** What happened to one case end to end. */
export interface CaseOutcome {
  readonly name: string;
  readonly expect: CorpusCase['expect'];
  readonly ruleId?: string;
  readonly beforeFailed: boolean;
  readonly beforeOutput: string;
  /** 1-based rank of the first candidate whose tests pass, if any. */
  readonly fixedAtRank?: number;
  readonly fixedBy?: string;
  readonly candidates: readonly CandidatePatch[];
  readonly refused: readonly { file: string; reason: string }[];
  readonly fixLine?: string;
}

/** Runs one case: tests before (must fail), then each candidate in rank order until one passes. */
export async function runCase(c: CorpusCase): Promise<CaseOutcome> {
  const before = await runCaseTests(c);
  const { analysis, candidates, refused } = await diagnoseAndPropose(c);
  let fixedAtRank: number | undefined;
  let fixedBy: string | undefined;
  for (const [i, candidate] of candidates.entries()) {
    const run = await runCaseTests(c, { file: candidate.file, content: candidate.after });
    if (run.passed) {
      fixedAtRank = i + 1;
      fixedBy = candidate.templateId;
      break;
    }
  }
  const top = analysis.localisation.sites[0];
  const fixLine = top ? top.source.split('\n')[top.line - 1] : undefined;
  return { name: c.name, expect: c.expect, ruleId: analysis.match?.rule.id, beforeFailed: !before.passed, beforeOutput: before.output, fixedAtRank, fixedBy, candidates, refused, fixLine };
}

/** Runs `work` over `items` with at most `limit` in flight, keeping the order of results. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
