import { existsSync } from 'node:fs';
import { chown, mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TestFramework } from '../domain/reproduction';
import { exitCodeResult, looksLikeTap, parseJestJson, parseJUnitXml, parseTap, ReportParseError, type ParsedResults } from '../domain/test-results';
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
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * Adds the Jest JSON reporter to a test command when the repository uses Jest: `npm test` and
 * `npm run <x>` get `-- --json --outputFile=…`, a command that names jest gets the flags appended.
 * Other commands run as registered; they may write JUnit XML to `$ANTIBODY_REPORT_DIR`.
 */
export function withReporter(command: string, framework: TestFramework | undefined, reportFile: string): string {
  if (framework !== 'jest') return command;
  const flags = `--json --outputFile=${quote(reportFile)}`;
  if (/^\s*npm\s+(test|t|run(-script)?\s+\S+)\s*$/.test(command)) return `${command} -- ${flags}`;
  if (/\bjest\b/.test(command) && !/[;&|]/.test(command)) return `${command} ${flags}`;
  return command;
}

/**
 * Runs a step (install, build, a test command) in the sandbox and reads its results: the Jest
 * JSON report, else a JUnit XML file in the report dir, else TAP on the output, else the exit code.
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
  const jestReport = join(reportDir, 'jest.json');
  const finalCommand = withReporter(command, options.framework, jestReport);
  const result = await runSandboxed({
    command: finalCommand,
    cwd: workspace.worktree,
    writable: [workspace.worktree, workspace.home, workspace.tmp],
    env: scrubbedEnv(workspace.home, workspace.tmp, { ANTIBODY_REPORT_DIR: reportDir }),
    network: options.network ?? 'none',
    limits: options.timeLimitMs ? { ...context.limits, timeLimitMs: options.timeLimitMs } : context.limits,
    uid: context.uid,
    ...(context.signal ? { signal: context.signal } : {}),
  });
  const results = await readResults(reportDir, jestReport, workspace.worktree, result.output, command, result.exitCode, result.durationMs);
  const violations = [
    ...violationsOfRun({ timedOut: result.timedOut, outputCapped: result.outputCapped, signal: result.signal, timeLimitMs: options.timeLimitMs ?? context.limits.timeLimitMs }),
    ...violationsInOutput(result.output),
  ];
  return {
    step,
    command: finalCommand,
    summary: { results, exitCode: result.exitCode, timedOut: result.timedOut || result.outputCapped, violations },
    output: result.output,
    durationMs: result.durationMs,
    enforced: result.enforced,
  };
}

async function readResults(reportDir: string, jestReport: string, root: string, output: string, command: string, exitCode: number | null, durationMs: number): Promise<ParsedResults> {
  const attempts: Array<() => Promise<ParsedResults | undefined>> = [
    async () => (existsSync(jestReport) ? parseJestJson(await readFile(jestReport, 'utf8'), root) : undefined),
    async () => {
      const xml = (await readdir(reportDir)).filter((f) => f.endsWith('.xml')).sort();
      if (xml.length === 0) return undefined;
      const parsed = await Promise.all(xml.map(async (f) => parseJUnitXml(await readFile(join(reportDir, f), 'utf8'))));
      return { source: 'junit', tests: parsed.flatMap((p) => p.tests) };
    },
    async () => (looksLikeTap(output) ? parseTap(output) : undefined),
  ];
  for (const attempt of attempts) {
    try {
      const results = await attempt();
      if (results && results.tests.length > 0) return results;
    } catch (error) {
      if (!(error instanceof ReportParseError)) throw error;
    }
  }
  return exitCodeResult(command, exitCode, durationMs, output.slice(-2000));
}

/** The command that runs one test file alone, in the repository's framework. */
export function singleFileCommand(framework: TestFramework, file: string): string {
  return framework === 'jest' ? `./node_modules/.bin/jest --ci --runTestsByPath ${quote(file)}` : `node --test ${quote(file)}`;
}
