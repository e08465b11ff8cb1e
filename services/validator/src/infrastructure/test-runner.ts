import { existsSync } from 'node:fs';
import { chown, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { detectFramework, type TestFramework } from '../domain/reproduction';
import { deathOf, exitCodeResult, looksLikeTap, markIncomplete, parseJestJson, parseJUnitXml, parseTap, ReportParseError, type ParsedResults } from '../domain/test-results';
import type { RunSummary } from '../domain/verdict';
import { violationsInOutput, violationsOfRun } from '../domain/violations';
import { runSandboxed, scrubbedEnv, type EnforcedSandbox, type SandboxLimits } from './sandbox';
import type { Workspace } from './workspace';

/** One step's full output, for the logs table, and its summary. */
export interface StepRun {
  readonly step: string;
  readonly command: string;
  readonly summary: RunSummary;
  readonly output: string;
  readonly durationMs: number;
  readonly enforced: EnforcedSandbox;
}

/** Settings shared by every run of one validation. */
export interface RunContext {
  readonly workspace: Workspace;
  readonly limits: SandboxLimits;
  readonly uid: number;
  /** Aborts every run of the validation (the validator stopping). */
  readonly signal?: AbortSignal;
}

let reportCounter = 0;

function quote(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

/** A test command as it runs: with the flags or environment that make its runner write a report. */
export interface ReportingCommand {
  readonly command: string;
  readonly env: Readonly<Record<string, string>>;
}

/** Where a run's reports go, and what the runner needs to write them. */
export interface ReportSetup {
  /** The run's report directory (`$ANTIBODY_REPORT_DIR`). */
  readonly dir: string;
  /** package.json of the worktree: to see what `npm test` / `npm run x` runs. */
  readonly packageJson?: unknown;
  /** Antibody's Jasmine reporter module, when one was written for the run. */
  readonly jasmineReporter?: string;
  /** Whether the Node that runs the tests has node:test's `junit` reporter (Node 20.13+ / 21.3+). */
  readonly nodeJunit?: boolean;
}

/** The file each runner's report is written to, inside the report directory. */
export const REPORT_FILES = { jest: 'jest.json', vitest: 'vitest.json', mocha: 'mocha.xml', 'node:test': 'node-test.xml', jasmine: 'jasmine.xml' } as const;

/** Flags that make a runner write a machine-readable report into `dir`; TAP runners print it. */
function reporterFlags(framework: TestFramework, setup: ReportSetup): string | undefined {
  const file = (name: string) => quote(join(setup.dir, name));
  switch (framework) {
    case 'jest':
      return `--json --outputFile=${file(REPORT_FILES.jest)}`;
    case 'vitest':
      return `--reporter=default --reporter=json --outputFile.json=${file(REPORT_FILES.vitest)}`;
    case 'mocha':
      return `--reporter=xunit --reporter-option output=${file(REPORT_FILES.mocha)}`;
    case 'jasmine':
      return setup.jasmineReporter ? `--reporter=${quote(setup.jasmineReporter)}` : undefined;
    case 'ava':
      return '--tap';
    case 'tap':
      return '--reporter=tap';
    case 'node:test':
    case 'tape':
      return undefined;
  }
}

const NPM_SCRIPT = /^\s*(npm|yarn|pnpm)\s+(?:(test|t)|run(?:-script)?\s+([\w:.-]+)|([\w:.-]+))(\s+--(?:\s.*)?)?\s*$/;
const SHELL_OPERATOR = /[;&|<>`$()]/;

/** The script an npm/yarn/pnpm command runs, followed through `npm run x` chains; undefined when it is not one. */
function scriptOf(command: string, packageJson: unknown, depth = 0): string | undefined {
  const match = NPM_SCRIPT.exec(command);
  if (!match || depth > 4) return undefined;
  const scripts = ((packageJson ?? {}) as { scripts?: Record<string, unknown> }).scripts ?? {};
  const name = match[2] ? 'test' : (match[3] ?? match[4] ?? '');
  if (match[1] !== 'npm' && match[4] && ['install', 'add', 'exec', 'dlx'].includes(match[4])) return undefined;
  const script = scripts[name];
  if (typeof script !== 'string') return undefined;
  return scriptOf(script, packageJson, depth + 1) ?? script;
}

/** Whether arguments appended to `script` reach the runner: it is the script's last command and nothing pipes its output. */
function runnerTakesArguments(script: string, framework: TestFramework): boolean {
  const segments = script.split(/&&|\|\||;|\|/);
  const last = segments[segments.length - 1] ?? '';
  return !/[<>`]/.test(last) && detectFramework({ scripts: { test: last } }) === framework;
}

/**
 * The test command with its runner's machine-readable reporter added, so per-test results are
 * read from a report rather than guessed from the output:
 *
 * - Jest `--json --outputFile`, Vitest `--reporter=json --outputFile.json` (plus its default
 *   reporter for the logs), Mocha's `xunit` reporter to a file, AVA `--tap`, node-tap
 *   `--reporter=tap`, Jasmine Antibody's reporter module (JUnit XML to a file);
 * - node:test `--test-reporter=junit` to a file and TAP on the output, through `NODE_OPTIONS`
 *   (arguments after the test files would be read as files); tape prints TAP already.
 *
 * Flags are added to `npm test [-- args]`, `npm run x`, `yarn x`, `pnpm x` (after `--` for npm)
 * only when the script's last command is the runner, and to a command that is the runner itself;
 * anything else (a pipe to a formatter, `a && b` ending elsewhere) runs as registered and its
 * results come from JUnit files in `$ANTIBODY_REPORT_DIR`, TAP on the output, or the exit code.
 */
export function withReporter(command: string, framework: TestFramework | undefined, setup: ReportSetup): ReportingCommand {
  if (!framework) return { command, env: {} };
  const script = scriptOf(command, setup.packageJson);
  const npm = NPM_SCRIPT.exec(command);
  if (framework === 'node:test') {
    const ran = script ?? command;
    if (!setup.nodeJunit || /--test-reporter/.test(ran) || /\bNODE_OPTIONS=/.test(ran) || !/\bnode\b[^&|;]*\s--test\b/.test(ran)) return { command, env: {} };
    const junit = join(setup.dir, REPORT_FILES['node:test']);
    return { command, env: { NODE_OPTIONS: `--test-reporter=junit --test-reporter-destination=${junit} --test-reporter=tap --test-reporter-destination=stdout` } };
  }
  const flags = reporterFlags(framework, setup);
  if (!flags) return { command, env: {} };
  if (npm) {
    if (script === undefined || !runnerTakesArguments(script, framework)) return { command, env: {} };
    const separator = npm[1] === 'npm' && !npm[5] ? ' --' : '';
    return { command: `${command.trimEnd()}${separator} ${flags}`, env: {} };
  }
  if (!SHELL_OPERATOR.test(command) && detectFramework({ scripts: { test: command } }) === framework) return { command: `${command.trimEnd()} ${flags}`, env: {} };
  return { command, env: {} };
}

/**
 * Antibody's Jasmine reporter (Jasmine's own CLI has no file reporter): a line per spec on the
 * output for the logs, and a JUnit XML file in `$ANTIBODY_REPORT_DIR` written when the run ends,
 * so a run that dies leaves none. Suites are the class names (joined with ` > `), `afterAll`
 * failures a failed test of their suite, load errors a failed `(top level)` test.
 */
export const JASMINE_REPORTER = `'use strict';
const fs = require('node:fs');
const path = require('node:path');
const xml = (text) => String(text).replace(/[\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f]/g, '').replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]);
module.exports = class AntibodyJasmineReporter {
  constructor() {
    this.suites = [];
    this.cases = [];
  }
  suiteStarted(result) {
    this.suites.push(result.description);
  }
  suiteDone(result) {
    this.suites.pop();
    this.add(this.suites, result.description + ' (afterAll)', 'failed', 0, result.failedExpectations, true);
  }
  specDone(result) {
    const status = result.status === 'passed' ? 'passed' : result.status === 'failed' ? 'failed' : 'skipped';
    this.add(this.suites, result.description, status, result.duration || 0, result.failedExpectations, false);
    console.log((status === 'passed' ? 'ok ' : status === 'failed' ? 'FAILED ' : 'skipped ') + [...this.suites, result.description].join(' > '));
  }
  add(suites, name, status, duration, failures, onlyIfFailed) {
    const messages = (failures || []).map((f) => f.message + (f.stack ? '\\n' + f.stack : ''));
    if (onlyIfFailed && messages.length === 0) return;
    this.cases.push({ classname: suites.join(' > '), name, status, duration, message: messages.join('\\n') });
  }
  jasmineDone(result) {
    this.add([], '(top level)', 'failed', 0, result.failedExpectations, true);
    const failed = this.cases.filter((c) => c.status === 'failed').length;
    console.log(this.cases.length + ' specs, ' + failed + ' failed (' + result.overallStatus + ')');
    const body = this.cases.map((c) => '  <testcase classname="' + xml(c.classname) + '" name="' + xml(c.name) + '" time="' + c.duration / 1000 + '">' +
      (c.status === 'failed' ? '<failure message="' + xml(c.message.split('\\n')[0]) + '">' + xml(c.message) + '</failure>' : c.status === 'skipped' ? '<skipped/>' : '') + '</testcase>').join('\\n');
    fs.writeFileSync(path.join(process.env.ANTIBODY_REPORT_DIR, '${REPORT_FILES.jasmine}'), '<?xml version="1.0" encoding="UTF-8"?>\\n<testsuites>\\n<testsuite tests="' + this.cases.length + '">\\n' + body + '\\n</testsuite>\\n</testsuites>\\n');
  }
};
`;

let nodeJunit: boolean | undefined;

/** Whether this Node has node:test's `junit` reporter (the sandbox runs the same Node). */
async function hasNodeJunit(): Promise<boolean> {
  nodeJunit ??= await import('node:test/reporters').then((r) => typeof (r as Record<string, unknown>)['junit'] !== 'undefined').catch(() => false);
  return nodeJunit;
}

/**
 * Runs a step (install, build, a test command) in the sandbox and reads its results (see
 * {@link readResults}). A test run that did not finish — cut off before its TAP plan, killed,
 * out of memory — is marked `incomplete`, counts as stopped (`timedOut`) and names why in its
 * violations, so neither side of a comparison can pass with it.
 */
export async function runStep(
  context: RunContext,
  step: string,
  command: string,
  options: { framework?: TestFramework; network?: 'none' | 'host'; timeLimitMs?: number } = {},
): Promise<StepRun> {
  const { workspace } = context;
  const reportDir = join(workspace.tmp, `reports-${++reportCounter}`);
  await mkdir(reportDir, { recursive: true });
  // Created after the workspace was handed to the sandbox user: hand this one over too, or the
  // test run (Jest's --outputFile, JUnit reporters) cannot write its report into it.
  if (context.uid !== process.getuid?.()) await chown(reportDir, context.uid, context.uid);
  let jasmineReporter: string | undefined;
  if (options.framework === 'jasmine') {
    jasmineReporter = join(workspace.tmp, 'antibody-jasmine-reporter.cjs');
    await writeFile(jasmineReporter, JASMINE_REPORTER, { mode: 0o644 });
  }
  const packageJson = options.framework ? await readFile(join(workspace.worktree, 'package.json'), 'utf8').then((t) => JSON.parse(t) as unknown).catch(() => undefined) : undefined;
  const reporting = withReporter(command, options.framework, { dir: reportDir, packageJson, ...(jasmineReporter ? { jasmineReporter } : {}), nodeJunit: options.framework === 'node:test' && (await hasNodeJunit()) });
  const result = await runSandboxed({
    command: reporting.command,
    cwd: workspace.worktree,
    writable: [workspace.worktree, workspace.home, workspace.tmp],
    env: scrubbedEnv(workspace.home, workspace.tmp, { ANTIBODY_REPORT_DIR: reportDir, ...reporting.env }),
    network: options.network ?? 'none',
    limits: options.timeLimitMs ? { ...context.limits, timeLimitMs: options.timeLimitMs } : context.limits,
    uid: context.uid,
    ...(context.signal ? { signal: context.signal } : {}),
  });
  const parsed = await readResults({ reportDir, root: workspace.worktree, output: result.output, command, framework: options.framework, exitCode: result.exitCode, durationMs: result.durationMs });
  // The sandbox's own stops (time limit, output cap) are violations already; a test run that died otherwise is marked here.
  const stoppedBySandbox = result.timedOut || result.outputCapped;
  const testRun = options.framework !== undefined || /^(test|reproduction):/.test(step);
  const death = testRun && !stoppedBySandbox ? deathOf(result) : undefined;
  const results = death ? markIncomplete(parsed, death) : parsed;
  const unfinished = results.incomplete !== undefined && !stoppedBySandbox ? [`the test run did not finish: ${results.incomplete}`] : [];
  const violations = [
    ...violationsOfRun({ timedOut: result.timedOut, outputCapped: result.outputCapped, signal: result.signal, timeLimitMs: options.timeLimitMs ?? context.limits.timeLimitMs }),
    ...unfinished,
    ...violationsInOutput(result.output),
  ];
  return {
    step,
    // node:test's reporters travel in NODE_OPTIONS, not in the command shown.
    command: reporting.command,
    summary: { results, exitCode: result.exitCode, timedOut: stoppedBySandbox || unfinished.length > 0, violations },
    output: result.output,
    durationMs: result.durationMs,
    enforced: result.enforced,
  };
}

/** What {@link readResults} reads a run's results from. */
export interface RunOutput {
  readonly reportDir: string;
  /** The worktree: Jest's and Vitest's file names are made relative to it. */
  readonly root: string;
  readonly output: string;
  readonly command: string;
  readonly framework: TestFramework | undefined;
  readonly exitCode: number | null;
  readonly durationMs: number;
}

/**
 * A run's per-test results, from the first source that has any: Jest's or Vitest's JSON report,
 * JUnit XML files in the report dir (Mocha, node:test, Jasmine, or the repository's own), TAP on
 * the output (tape's assertions grouped per test), else the exit code (the command is one test).
 * When the runner prints TAP (node:test, node-tap, tape, AVA), the TAP's plan also tells a run
 * that was cut off: such results are marked `incomplete`, whatever the report said.
 */
export async function readResults(run: RunOutput): Promise<ParsedResults> {
  const { reportDir, framework } = run;
  const tapOptions = { groupBy: framework === 'tape' ? 'comment' : 'test-point' } as const;
  const json = async (name: string, source: 'jest-json' | 'vitest-json') => {
    const file = join(reportDir, name);
    return existsSync(file) ? parseJestJson(await readFile(file, 'utf8'), run.root, source) : undefined;
  };
  const attempts: Array<() => Promise<ParsedResults | undefined>> = [
    () => json(REPORT_FILES.jest, 'jest-json'),
    () => json(REPORT_FILES.vitest, 'vitest-json'),
    async () => {
      const xml = (await readdir(reportDir)).filter((f) => f.endsWith('.xml')).sort();
      if (xml.length === 0) return undefined;
      const parsed = await Promise.all(xml.map(async (f) => parseJUnitXml(await readFile(join(reportDir, f), 'utf8'))));
      return { source: 'junit', tests: parsed.flatMap((p) => p.tests) };
    },
    async () => (looksLikeTap(run.output) ? parseTap(run.output, tapOptions) : undefined),
  ];
  let results: ParsedResults | undefined;
  for (const attempt of attempts) {
    try {
      const found = await attempt();
      if (found && found.tests.length > 0) {
        results = found;
        break;
      }
    } catch (error) {
      if (!(error instanceof ReportParseError)) throw error;
    }
  }
  if (!results) return exitCodeResult(run.command, run.exitCode, run.durationMs, run.output.slice(-2000));
  if (results.source !== 'tap' && framework && TAP_RUNNERS.has(framework) && looksLikeTap(run.output)) {
    const tap = tryParse(() => parseTap(run.output, tapOptions));
    if (tap?.incomplete) return markIncomplete(results, tap.incomplete);
  }
  return results;
}

const TAP_RUNNERS: ReadonlySet<TestFramework> = new Set(['node:test', 'tap', 'tape', 'ava']);

function tryParse(parse: () => ParsedResults): ParsedResults | undefined {
  try {
    return parse();
  } catch (error) {
    if (error instanceof ReportParseError) return undefined;
    throw error;
  }
}

/**
 * The command that runs one test file alone, in the repository's framework (with the
 * repository's configuration, so setup files and transforms apply). Jest runs with Node's VM
 * modules, which it needs for a test that is an ES module (`"type": "module"`); CommonJS tests
 * run as before.
 */
export function singleFileCommand(framework: TestFramework, file: string): string {
  const f = quote(file);
  switch (framework) {
    case 'jest':
      return `NODE_OPTIONS=--experimental-vm-modules ./node_modules/.bin/jest --ci --runTestsByPath ${f}`;
    case 'vitest':
      return `./node_modules/.bin/vitest run ${f}`;
    case 'mocha':
      return `./node_modules/.bin/mocha ${f}`;
    case 'jasmine':
      return `./node_modules/.bin/jasmine ${f}`;
    case 'ava':
      return `./node_modules/.bin/ava ${f}`;
    case 'tap':
      return `./node_modules/.bin/tap ${f}`;
    case 'tape':
      return `node ${f}`;
    case 'node:test':
      return `node --test ${f}`;
  }
}
