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
export type ResultSource = 'jest-json' | 'junit' | 'tap' | 'exit-code';

/** The parsed results of one run of a test command. */
export interface ParsedResults {
  readonly source: ResultSource;
  readonly tests: readonly TestResult[];
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
 * Reads Jest's `--json` report. Test names are `<file relative to root> > <describe…> > <title>`.
 * A test file that failed before running any test (syntax error, failing import) becomes one
 * failed test named after the file, so a patch that breaks a module cannot hide its tests.
 *
 * @param root the directory file paths are made relative to (the worktree).
 * @throws ReportParseError when the text is not a Jest JSON report.
 */
export function parseJestJson(text: string, root: string): ParsedResults {
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
  return { source: 'jest-json', tests: uniqueNames(tests) };
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

const TAP_LINE = /^(\s*)(not ok|ok)\b\s*(\d+)?\s*(?:-\s*)?(.*?)\s*(?:#\s*(SKIP|TODO)\b.*)?$/i;

/** True when the text looks like TAP output (a plan or a numbered test line). */
export function looksLikeTap(text: string): boolean {
  return /^TAP version \d+/m.test(text) || (/^\s*(not )?ok \d+/m.test(text) && /^\s*1\.\.\d+/m.test(text));
}

/**
 * Reads TAP (13/14, including node:test's indented subtests and YAML diagnostics). A test with
 * subtests is a suite: only its leaves are reported, named `<parent> > <child>`. A failed suite
 * whose children all passed (a hook failed) is reported as one failed test with its own name.
 *
 * @throws ReportParseError when no test line is found.
 */
export function parseTap(text: string): ParsedResults {
  interface Node {
    indent: number;
    name: string;
    status: TestStatus;
    durationMs: number;
    message?: string;
    children: Node[];
    isSuite: boolean;
  }
  const lines = text.split('\n');
  const roots: Node[] = [];
  // Subtests precede their parent's result line in node:test output; pending[indent] collects them.
  const pending = new Map<number, Node[]>();
  let last: Node | undefined;
  let yaml: string[] | undefined;
  let yamlIndent = 0;
  const flushYaml = (): void => {
    if (!last || !yaml) return;
    const body = yaml.join('\n');
    const duration = /^\s*duration_ms:\s*([\d.]+)/m.exec(body);
    if (duration?.[1]) last.durationMs = Math.round(Number(duration[1]));
    if (/^\s*type:\s*'suite'/m.test(body)) last.isSuite = true;
    if (last.status === 'failed') {
      const error = /^\s*error:\s*(?:\|-?\s*\n((?:\s+.*\n?)+?)(?=^\s*\w+:)|(.*))/m.exec(`${body}\nend:`);
      const raw = (error?.[1] ?? error?.[2] ?? '').trim().replace(/^'(.*)'$/s, '$1');
      last.message = shortMessage(raw) ?? last.message;
    }
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
    const match = TAP_LINE.exec(line);
    if (!match) continue;
    const indent = match[1]?.length ?? 0;
    const node: Node = {
      indent,
      name: (match[4] ?? '').trim() || `test ${match[3] ?? '?'}`,
      status: match[5] ? 'skipped' : match[2]?.toLowerCase() === 'ok' ? 'passed' : 'failed',
      durationMs: 0,
      children: pending.get(indent + 4) ?? [],
      isSuite: false,
    };
    pending.delete(indent + 4);
    if (node.children.length > 0) node.isSuite = true;
    const siblings = pending.get(indent) ?? [];
    siblings.push(node);
    pending.set(indent, siblings);
    last = node;
  }
  flushYaml();
  for (const [indent, nodes] of [...pending.entries()].sort((a, b) => a[0] - b[0])) {
    if (indent === Math.min(...pending.keys())) roots.push(...nodes);
  }
  const tests: TestResult[] = [];
  const walk = (node: Node, path: string[]): void => {
    const name = [...path, node.name];
    if (node.isSuite && node.children.length > 0) {
      for (const child of node.children) walk(child, name);
      if (node.status === 'failed' && node.children.every((c) => c.status !== 'failed')) {
        tests.push({ name: name.join(' > '), status: 'failed', durationMs: node.durationMs, message: node.message });
      }
      return;
    }
    tests.push({ name: name.join(' > '), status: node.status, durationMs: node.durationMs, message: node.status === 'failed' ? node.message : undefined });
  };
  for (const root of roots) walk(root, []);
  if (tests.length === 0) throw new ReportParseError('TAP', 'no test lines');
  return { source: 'tap', tests: uniqueNames(tests) };
}

/** The fallback when no report was found: the whole command is one test, passed iff it exited 0. */
export function exitCodeResult(command: string, exitCode: number | null, durationMs: number, message?: string): ParsedResults {
  return {
    source: 'exit-code',
    tests: [{ name: `${command} (exit code)`, status: exitCode === 0 ? 'passed' : 'failed', durationMs: Math.max(0, Math.round(durationMs)), message: exitCode === 0 ? undefined : shortMessage(message ?? `exit code ${exitCode ?? 'none (killed)'}`) }],
  };
}
