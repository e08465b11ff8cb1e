import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { INCOMPLETE_RUN_TEST } from '../src/domain/test-results';
import { readResults, singleFileCommand, withReporter, type RunOutput } from '../src/infrastructure/test-runner';

const setup = { dir: '/r', nodeJunit: true };

describe('withReporter', () => {
  it('adds each runner\'s machine-readable reporter to npm test, also when it already passes arguments', () => {
    const pkg = (test: string) => ({ ...setup, packageJson: { scripts: { test } } });
    expect(withReporter('npm test', 'jest', pkg('jest')).command).toBe('npm test -- --json --outputFile=/r/jest.json');
    expect(withReporter('npm test -- --grep cart', 'mocha', pkg('nyc mocha')).command).toBe('npm test -- --grep cart --reporter=xunit --reporter-option output=/r/mocha.xml');
    expect(withReporter('npm run test:unit', 'vitest', { ...setup, packageJson: { scripts: { 'test:unit': 'vitest run' } } }).command).toBe(
      'npm run test:unit -- --reporter=default --reporter=json --outputFile.json=/r/vitest.json',
    );
    expect(withReporter('npm test', 'ava', pkg('ava')).command).toBe('npm test -- --tap');
    expect(withReporter('npm test', 'tap', pkg('tap')).command).toBe('npm test -- --reporter=tap');
    expect(withReporter('npm test', 'jasmine', { ...pkg('jasmine'), jasmineReporter: '/w/tmp/reporter.cjs' }).command).toBe('npm test -- --reporter=/w/tmp/reporter.cjs');
    expect(withReporter('yarn test', 'jest', pkg('jest')).command).toBe('yarn test --json --outputFile=/r/jest.json');
    expect(withReporter('./node_modules/.bin/mocha test', 'mocha', setup).command).toBe('./node_modules/.bin/mocha test --reporter=xunit --reporter-option output=/r/mocha.xml');
  });

  it('gives node:test its JUnit reporter through NODE_OPTIONS (arguments after the files would be read as files), TAP staying on the output', () => {
    expect(withReporter('npm test', 'node:test', { ...setup, packageJson: { scripts: { test: 'node --test test/' } } })).toEqual({
      command: 'npm test',
      env: { NODE_OPTIONS: '--test-reporter=junit --test-reporter-destination=/r/node-test.xml --test-reporter=tap --test-reporter-destination=stdout' },
    });
    expect(withReporter('node --test', 'node:test', { ...setup, nodeJunit: false }).env).toEqual({});
    expect(withReporter('npm test', 'node:test', { ...setup, packageJson: { scripts: { test: 'node --test --test-reporter=spec' } } }).env).toEqual({});
  });

  it('leaves a command alone where appended flags would not reach the runner', () => {
    const unchanged = (command: string, test: string) => withReporter(command, 'mocha', { ...setup, packageJson: { scripts: { test } } }).command;
    expect(unchanged('npm test', 'mocha && eslint .')).toBe('npm test');
    expect(unchanged('npm test', 'mocha | tee out.txt')).toBe('npm test');
    expect(unchanged('make test', 'mocha')).toBe('make test');
    expect(withReporter('npm test', 'tape', { ...setup, packageJson: { scripts: { test: 'tape test/*.js' } } }).command).toBe('npm test');
  });
});

describe('singleFileCommand', () => {
  it('runs only the generated test file, with the repository\'s configuration', () => {
    expect(singleFileCommand('jest', 'test/a.test.js')).toBe('NODE_OPTIONS=--experimental-vm-modules ./node_modules/.bin/jest --ci --runTestsByPath test/a.test.js');
    expect(singleFileCommand('vitest', 'test/a.test.js')).toBe('./node_modules/.bin/vitest run test/a.test.js');
    expect(singleFileCommand('mocha', 'test/a b.js')).toBe("./node_modules/.bin/mocha 'test/a b.js'");
    expect(singleFileCommand('node:test', 'test/a.test.mjs')).toBe('node --test test/a.test.mjs');
    expect(singleFileCommand('jasmine', 'spec/a.spec.js')).toBe('./node_modules/.bin/jasmine spec/a.spec.js');
    expect(singleFileCommand('ava', 'test/a.test.js')).toBe('./node_modules/.bin/ava test/a.test.js');
    expect(singleFileCommand('tap', 'test/a.test.js')).toBe('./node_modules/.bin/tap test/a.test.js');
    expect(singleFileCommand('tape', 'test/a.test.js')).toBe('node test/a.test.js');
  });
});

describe('readResults', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'antibody-results-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const run = (over: Partial<RunOutput>): RunOutput => ({ reportDir: dir, root: '/repo', output: '', command: 'npm test', framework: undefined, exitCode: 1, durationMs: 10, ...over });
  const fixture = (name: string) => join(__dirname, 'fixtures', 'reports', name);

  it('reads the report the runner wrote: Mocha\'s xunit file gives each test, not one result for the command', async () => {
    copyFileSync(fixture('mocha.xml'), join(dir, 'mocha.xml'));
    const results = await readResults(run({ framework: 'mocha' }));
    expect(results.source).toBe('junit');
    expect(results.tests).toHaveLength(5);
  });

  it('reads Vitest\'s JSON report', async () => {
    copyFileSync(fixture('vitest.json'), join(dir, 'vitest.json'));
    expect((await readResults(run({ framework: 'vitest' }))).tests.map((t) => t.name)[0]).toBe('test/v.test.js > cart > sums');
  });

  it('given node:test\'s JUnit file but TAP on the output cut off before its plan, then the run is incomplete', async () => {
    copyFileSync(fixture('mocha.xml'), join(dir, 'node-test.xml'));
    const results = await readResults(run({ framework: 'node:test', output: 'TAP version 13\n# Subtest: a\nok 1 - a\n' }));
    expect(results.incomplete).toMatch(/without printing its plan/);
    expect(results.tests[results.tests.length - 1]).toMatchObject({ name: INCOMPLETE_RUN_TEST, status: 'failed' });
  });

  it('falls back to the exit code when nothing structured was written', async () => {
    expect((await readResults(run({ output: 'boom' }))).tests).toEqual([{ name: 'npm test (exit code)', status: 'failed', durationMs: 10, message: 'boom' }]);
  });
});
