import { XMLParser } from 'fast-xml-parser';

/** The outcome of one test in one run. */
export type TestStatus = 'passed' | 'failed' | 'skipped';

/** One test's result in one run of a test command. */
export interface TestResult {
  /** Unique within the run: suite path and title joined with ` > ` (file-prefixed for Jest). */
  readonly name: string;
  readonly status: TestStatus;
  readonly durationMs: number;
  /** First lines of the failure message, when the format carries one. */
  readonly message?: string;
}

/** Where a run's per-test results came from; `exit-code` means no structured report was found. */
export type ResultSource = 'jest-json' | 'vitest-json' | 'junit' | 'tap' | 'exit-code';

/** The parsed results of one run of a test command. */
export interface ParsedResults {
  readonly source: ResultSource;
  /** Every test the run reported (never capped), plus one failed test when the run did not finish. */
  readonly tests: readonly TestResult[];
  /** Why the run did not finish (cut off before its plan, killed, out of memory); absent when it did. */
  readonly incomplete?: string;
}

/** Thrown when a report exists but cannot be read (the caller falls back to another source). */
export class ReportParseError extends Error {
  override readonly name = 'ReportParseError';
  readonly code = 'REPORT_UNREADABLE' as const;
  constructor(format: string, detail: string, options?: { cause?: unknown }) {
    super(`cannot read the ${format} report: ${detail}`, options);
  }
}

const MESSAGE_LINES = 6;
const MESSAGE_CHARS = 600;

/** Keeps the first lines of a failure message, so evidence stays small. */
export function shortMessage(message: string | undefined): string | undefined {
  if (message === undefined) return undefined;
  // eslint-disable-next-line no-control-regex -- strips ANSI colour codes (ESC [ … m) from test output
  const cleaned = message.replace(/\u001b\[[0-9;]*m/g, '').trim();
  if (cleaned === '') return undefined;
  const lines = cleaned.split('\n').slice(0, MESSAGE_LINES).join('\n');
  return lines.length > MESSAGE_CHARS ? `${lines.slice(0, MESSAGE_CHARS)}…` : lines;
}

/** Names made unique within a run: a repeated name gets ` (2)`, ` (3)`… in order of appearance. */
function uniqueNames(tests: TestResult[]): TestResult[] {
  const seen = new Map<string, number>();
  return tests.map((t) => {
    const n = (seen.get(t.name) ?? 0) + 1;
    seen.set(t.name, n);
    return n === 1 ? t : { ...t, name: `${t.name} (${n})` };
  });
}

interface JestAssertion {
  ancestorTitles?: string[];
  title?: string;
  fullName?: string;
  status?: string;
  duration?: number | null;
  failureMessages?: string[];
}
interface JestFileResult {
  name?: string;
  status?: string;
  message?: string;
  failureMessage?: string;
  assertionResults?: JestAssertion[];
  startTime?: number;
  endTime?: number;
}

/**
 * Reads Jest's `--json` report, and Vitest's `json` reporter (the same shape). Test names are `<file relative to root> > <describe…> > <title>`.
 * A test file that failed before running any test (syntax error, failing import) becomes one
 * failed test named after the file, so a patch that breaks a module cannot hide its tests.
 *
 * @param root the directory file paths are made relative to (the worktree).
 * @throws ReportParseError when the text is not a Jest JSON report.
 */
export function parseJestJson(text: string, root: string, source: 'jest-json' | 'vitest-json' = 'jest-json'): ParsedResults {
  let report: { testResults?: JestFileResult[] };
  try {
    report = JSON.parse(text) as { testResults?: JestFileResult[] };
  } catch (error) {
    throw new ReportParseError('Jest JSON', 'not JSON', { cause: error });
  }
  if (!report || !Array.isArray(report.testResults)) throw new ReportParseError('Jest JSON', 'no testResults array');
  const tests: TestResult[] = [];
  for (const file of report.testResults) {
    const fileName = relativeTo(root, file.name ?? 'unknown');
    const assertions = file.assertionResults ?? [];
    if (assertions.length === 0 && file.status === 'failed') {
      tests.push({
        name: `${fileName} (test file)`,
        status: 'failed',
        durationMs: Math.max(0, Math.round((file.endTime ?? 0) - (file.startTime ?? 0))),
        message: shortMessage(file.failureMessage ?? file.message),
      });
      continue;
    }
    for (const a of assertions) {
      const parts = [fileName, ...(a.ancestorTitles ?? []), a.title ?? a.fullName ?? 'unnamed'];
      tests.push({
        name: parts.join(' > '),
        status: a.status === 'passed' ? 'passed' : a.status === 'failed' ? 'failed' : 'skipped',
        durationMs: Math.max(0, Math.round(a.duration ?? 0)),
        message: a.status === 'failed' ? shortMessage((a.failureMessages ?? []).join('\n')) : undefined,
      });
    }
  }
  return { source, tests: uniqueNames(tests) };
}

function relativeTo(root: string, path: string): string {
  const base = root.endsWith('/') ? root : `${root}/`;
  return path.startsWith(base) ? path.slice(base.length) : path;
}

const xml = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', isArray: (name) => name === 'testsuite' || name === 'testcase' });

interface JUnitCase {
  name?: string;
  classname?: string;
  time?: string;
  failure?: unknown;
  error?: unknown;
  skipped?: unknown;
}
interface JUnitSuite {
  name?: string;
  testcase?: JUnitCase[];
  testsuite?: JUnitSuite[];
}

/**
 * Reads a JUnit XML report (`<testsuites>` or a single `<testsuite>`, nested suites allowed).
 * Names are `<suite…> > <classname> > <name>` without empty or repeated parts.
 *
 * @throws ReportParseError when the text holds no test suite.
 */
export function parseJUnitXml(text: string): ParsedResults {
  let doc: { testsuites?: JUnitSuite & { testcase?: JUnitCase[] }; testsuite?: JUnitSuite[] };
  try {
    doc = xml.parse(text) as typeof doc;
  } catch (error) {
    throw new ReportParseError('JUnit XML', 'not XML', { cause: error });
  }
  const roots: JUnitSuite[] = doc.testsuites ? [doc.testsuites] : (doc.testsuite ?? []);
  if (roots.length === 0) throw new ReportParseError('JUnit XML', 'no <testsuites> or <testsuite> element');
  const tests: TestResult[] = [];
  const walk = (suite: JUnitSuite, path: string[]): void => {
    const here = suite.name && suite.name !== path[path.length - 1] ? [...path, suite.name] : path;
    for (const c of suite.testcase ?? []) {
      const parts = [...here];
      if (c.classname && c.classname !== parts[parts.length - 1] && c.classname !== 'test') parts.push(c.classname);
      parts.push(c.name ?? 'unnamed');
      const failure = c.failure ?? c.error;
      tests.push({
        name: parts.join(' > '),
        status: failure !== undefined ? 'failed' : c.skipped !== undefined ? 'skipped' : 'passed',
        durationMs: Math.max(0, Math.round(Number(c.time ?? 0) * 1000) || 0),
        message: failure !== undefined ? shortMessage(junitMessage(failure)) : undefined,
      });
    }
    for (const child of suite.testsuite ?? []) walk(child, here);
  };
  for (const root of roots) walk(root, []);
  return { source: 'junit', tests: uniqueNames(tests) };
}

function junitMessage(failure: unknown): string | undefined {
  if (typeof failure === 'string') return failure;
  if (Array.isArray(failure)) return junitMessage(failure[0]);
  if (failure && typeof failure === 'object') {
    const f = failure as Record<string, unknown>;
    if (typeof f['message'] === 'string') return f['message'];
    if (typeof f['#text'] === 'string') return f['#text'];
  }
  return undefined;
}

const TAP_LINE = /^(\s*)(not ok|ok)\b\s*(\d+)?\s*(?:-\s*)?(.*)$/i;
const TAP_PLAN = /^(\s*)1\.\.(\d+)/;
const TAP_SUBTEST = /^(\s*)# Subtest: (.*)$/;
// tape and AVA close with counts as comments; they name no test.
const TAP_SUMMARY = /^# (tests|pass|fail|skip|todo|ok|not ok|cancelled|suites|duration_ms|time=)\b/;

/** True when the text looks like TAP output (a plan or a numbered test line). */
export function looksLikeTap(text: string): boolean {
  return /^TAP version \d+/m.test(text) || (/^\s*(not )?ok \d+/m.test(text) && /^\s*1\.\.\d+/m.test(text));
}

/** How TAP test points map to tests. */
export interface TapOptions {
  /**
   * tape prints each test's name as a comment and its assertions as test points: with
   * `'comment'`, the assertions under a comment are one test, failed when any of them failed.
   */
  readonly groupBy?: 'test-point' | 'comment';
}

interface TapNode {
  indent: number;
  name: string;
  status: TestStatus;
  durationMs: number;
  message?: string;
  children: TapNode[];
  /** Announced by `# Subtest:` (node:test, node-tap): a test, where a bare test point is an assertion. */
  subtest: boolean;
  isSuite: boolean;
  group?: string;
}

/** The name and directive of a test point's description: `name # SKIP why`, `name # time=3ms`; `\#` is a literal `#`. */
function splitDirective(text: string): { name: string; directive: string } {
  const match = /^(.*?)(?<!\\)\s+#\s+(.*)$/.exec(text) ?? /^()#\s+(.*)$/.exec(text);
  const name = (match ? (match[1] ?? '') : text).replace(/\\#/g, '#').trim();
  return { name, directive: match?.[2] ?? '' };
}

/**
 * Reads TAP (13/14): node:test's and node-tap's indented subtests, tape's assertions grouped by
 * test (see {@link TapOptions}), AVA's flat test points. Where subtests are announced
 * (`# Subtest:`), only the innermost subtests are tests, named `<parent> > <child>`, and bare test
 * points inside them are their assertions; a failed suite whose subtests all passed (a hook
 * failed) is one failed test with its own name. AVA's `file › title` becomes `file > title`.
 *
 * Completeness: a run must declare its plan (`1..N`) and report that many top-level test points;
 * one that stops short, bails out or never prints its plan was cut off (killed, out of memory)
 * and is marked `incomplete`, with a failed test saying so.
 *
 * @throws ReportParseError when no test line is found.
 */
export function parseTap(text: string, options: TapOptions = {}): ParsedResults {
  const lines = text.split('\n');
  // Subtests precede their parent's result line in node:test and node-tap output; pending[indent] collects them.
  const pending = new Map<number, TapNode[]>();
  const announced = new Map<number, string>();
  let last: TapNode | undefined;
  let yaml: string[] | undefined;
  let yamlIndent = 0;
  let plan: number | undefined;
  let bailed: string | undefined;
  let group: string | undefined;
  let topLevel = 0;
  const flushYaml = (): void => {
    if (!last || !yaml) return;
    const body = yaml.join('\n');
    const duration = /^\s*duration_ms:\s*([\d.]+)/m.exec(body);
    if (duration?.[1]) last.durationMs = Math.round(Number(duration[1]));
    if (/^\s*type:\s*'suite'/m.test(body)) last.isSuite = true;
    if (last.status === 'failed') last.message = yamlMessage(body) ?? last.message;
    yaml = undefined;
  };
  for (const line of lines) {
    if (yaml) {
      if (/^\s*\.\.\.\s*$/.test(line) && line.indexOf('...') <= yamlIndent + 2) {
        flushYaml();
        continue;
      }
      yaml.push(line);
      continue;
    }
    if (/^\s*---\s*$/.test(line) && last) {
      yaml = [];
      yamlIndent = line.indexOf('---');
      continue;
    }
    const subtest = TAP_SUBTEST.exec(line);
    if (subtest) {
      announced.set(subtest[1]?.length ?? 0, (subtest[2] ?? '').trim());
      continue;
    }
    const planned = TAP_PLAN.exec(line);
    if (planned) {
      if ((planned[1]?.length ?? 0) === 0 && plan === undefined) plan = Number(planned[2]);
      continue;
    }
    const bail = /^\s*Bail out!\s*(.*)$/.exec(line);
    if (bail) {
      bailed = bail[1]?.trim() || 'no reason given';
      continue;
    }
    if (options.groupBy === 'comment' && /^# /.test(line)) {
      if (!(plan !== undefined && TAP_SUMMARY.test(line))) group = line.slice(2).trim();
      continue;
    }
    const match = TAP_LINE.exec(line);
    if (!match) continue;
    const indent = match[1]?.length ?? 0;
    const { name, directive } = splitDirective(match[4] ?? '');
    const time = /\btime=([\d.]+)(ms|s)\b/.exec(directive);
    const node: TapNode = {
      indent,
      name: (name || announced.get(indent) || `test ${match[3] ?? '?'}`).replace(/ › /g, ' > '),
      status: /^(SKIP|TODO)\b/i.test(directive) ? 'skipped' : match[2]?.toLowerCase() === 'ok' ? 'passed' : 'failed',
      durationMs: time?.[1] ? Math.round(Number(time[1]) * (time[2] === 's' ? 1000 : 1)) : 0,
      children: pending.get(indent + 4) ?? [],
      subtest: announced.has(indent),
      isSuite: false,
      ...(group !== undefined ? { group } : {}),
    };
    announced.delete(indent);
    pending.delete(indent + 4);
    if (node.children.some((c) => c.subtest)) node.isSuite = true;
    const siblings = pending.get(indent) ?? [];
    siblings.push(node);
    pending.set(indent, siblings);
    if (indent === 0) topLevel++;
    last = node;
  }
  flushYaml();
  const rootIndent = Math.min(...pending.keys());
  const roots = pending.get(rootIndent) ?? [];
  const tests: TestResult[] = [];
  if (roots.some((r) => r.subtest)) {
    const walk = (node: TapNode, path: string[]): void => {
      const name = [...path, node.name];
      const subtests = node.children.filter((c) => c.subtest);
      if (subtests.length > 0) {
        for (const child of subtests) walk(child, name);
        if (node.status === 'failed' && subtests.every((c) => c.status !== 'failed')) {
          tests.push({ name: name.join(' > '), status: 'failed', durationMs: node.durationMs, message: node.message ?? firstFailure(node.children) });
        }
        return;
      }
      if (node.isSuite && node.status !== 'failed') return;
      const message = node.status === 'failed' ? (firstFailure(node.children) ?? node.message) : undefined;
      tests.push({ name: name.join(' > '), status: node.status, durationMs: node.durationMs, message });
    };
    for (const root of roots) walk(root, []);
  } else if (options.groupBy === 'comment') {
    // Consecutive test points under one comment are one test's assertions.
    const groups: TapNode[][] = [];
    for (const node of roots) {
      const current = groups[groups.length - 1];
      if (current && node.group !== undefined && current[0]?.group === node.group) current.push(node);
      else groups.push([node]);
    }
    for (const nodes of groups) {
      const status: TestStatus = nodes.some((n) => n.status === 'failed') ? 'failed' : nodes.every((n) => n.status === 'skipped') ? 'skipped' : 'passed';
      tests.push({ name: nodes[0]?.group ?? nodes[0]?.name ?? 'unnamed', status, durationMs: nodes.reduce((sum, n) => sum + n.durationMs, 0), message: status === 'failed' ? firstFailure(nodes) : undefined });
    }
  } else {
    const walk = (node: TapNode, path: string[]): void => {
      const name = [...path, node.name];
      if (node.isSuite && node.children.length > 0) {
        for (const child of node.children) walk(child, name);
        if (node.status === 'failed' && node.children.every((c) => c.status !== 'failed')) tests.push({ name: name.join(' > '), status: 'failed', durationMs: node.durationMs, message: node.message });
        return;
      }
      tests.push({ name: name.join(' > '), status: node.status, durationMs: node.durationMs, message: node.status === 'failed' ? node.message : undefined });
    };
    for (const root of roots) walk(root, []);
  }
  if (tests.length === 0 && plan !== 0) throw new ReportParseError('TAP', 'no test lines');
  const incomplete =
    bailed !== undefined
      ? `the run bailed out (${bailed})`
      : plan === undefined
        ? `the run ended without printing its plan, after ${topLevel} test${topLevel === 1 ? '' : 's'}: it was cut off`
        : topLevel < plan
          ? `the run ended after ${topLevel} of the ${plan} tests its plan declared`
          : undefined;
  const results: ParsedResults = { source: 'tap', tests: uniqueNames(tests) };
  return incomplete ? markIncomplete(results, incomplete) : results;
}

function firstFailure(nodes: readonly TapNode[]): string | undefined {
  for (const node of nodes) {
    if (node.status !== 'failed') continue;
    return node.message ?? firstFailure(node.children) ?? (node.subtest ? undefined : node.name);
  }
  return undefined;
}

/** A failure's message from a TAP YAML block: node:test's `error`, AVA's `message`, else the block (tape's operator/expected/actual) without stacks. */
function yamlMessage(body: string): string | undefined {
  const error = /^\s*error:\s*(?:\|-?\s*\n((?:\s+.*\n?)+?)(?=^\s*\w+:)|(.*))/m.exec(`${body}\nend:`);
  const fromError = (error?.[1] ?? error?.[2] ?? '').trim().replace(/^'(.*)'$/s, '$1');
  if (fromError) return shortMessage(fromError);
  const message = /^\s*message:\s*(.*)$/m.exec(body)?.[1]?.trim().replace(/^'(.*)'$/s, '$1');
  if (message) return shortMessage(message);
  const indent = Math.min(...body.split('\n').filter((l) => l.trim()).map((l) => l.length - l.trimStart().length));
  const kept: string[] = [];
  let skipping = false;
  for (const line of body.split('\n')) {
    if (!line.trim()) continue;
    const own = line.length - line.trimStart().length === indent;
    if (own) skipping = /^\s*(stack|at|source|cwd|stdio|externalID|duration_ms|type|failureType|code):/.test(line);
    if (!skipping) kept.push(line.slice(indent));
  }
  return shortMessage(kept.join('\n'));
}

/** The name of the failed test that stands for a run that did not finish. */
export const INCOMPLETE_RUN_TEST = '(run did not finish)';

/**
 * Marks a run that did not finish: the results say why (`incomplete`) and carry one more, failed
 * test, so that no comparison can read a cut-off run as a pass.
 */
export function markIncomplete(results: ParsedResults, reason: string): ParsedResults {
  if (results.incomplete) return results;
  return { ...results, incomplete: reason, tests: [...results.tests, { name: INCOMPLETE_RUN_TEST, status: 'failed', durationMs: 0, message: reason }] };
}

const SIGNALS: Readonly<Record<number, string>> = { 6: 'SIGABRT', 9: 'SIGKILL', 11: 'SIGSEGV', 15: 'SIGTERM' };

/**
 * Why a test command's process died before it finished, from how it ended: killed by a signal
 * (reported by the process or, through `sh`, as exit code 128 + signal), npm reporting its script
 * killed, or V8 running out of heap. Undefined for a run that ended on its own, passing or not.
 */
export function deathOf(run: { readonly exitCode: number | null; readonly signal: string | null; readonly output: string }): string | undefined {
  if (run.signal) return `the test run was killed (${run.signal})`;
  if (run.exitCode === null) return 'the test run ended without an exit code (killed)';
  const bySignal = SIGNALS[run.exitCode - 128];
  if (bySignal) return `the test run was killed (${bySignal}, exit code ${run.exitCode})`;
  const npm = /^npm (?:ERR!|error) signal (SIG[A-Z]+)/m.exec(run.output);
  if (npm) return `the test run was killed (${npm[1]})`;
  const heap = /FATAL ERROR: [^\n]*JavaScript heap out of memory/.exec(run.output);
  if (heap) return 'the test run ran out of memory (JavaScript heap out of memory)';
  return undefined;
}

/** The fallback when no report was found: the whole command is one test, passed iff it exited 0. */
export function exitCodeResult(command: string, exitCode: number | null, durationMs: number, message?: string): ParsedResults {
  return {
    source: 'exit-code',
    tests: [{ name: `${command} (exit code)`, status: exitCode === 0 ? 'passed' : 'failed', durationMs: Math.max(0, Math.round(durationMs)), message: exitCode === 0 ? undefined : shortMessage(message ?? `exit code ${exitCode ?? 'none (killed)'}`) }],
  };
}
