import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { deathOf, exitCodeResult, INCOMPLETE_RUN_TEST, looksLikeTap, markIncomplete, parseJestJson, parseJUnitXml, parseTap, ReportParseError, type ParsedResults } from '../src/domain/test-results';

/** Reports the real runners wrote (paths rewritten to /repo): Mocha 11, Vitest 3, node:test on Node 20, Jasmine 5 with Antibody's reporter, AVA 6, node-tap 21, tape 5. */
const report = (name: string): string => readFileSync(join(__dirname, 'fixtures', 'reports', name), 'utf8');
const summary = (results: ParsedResults) => results.tests.map((t) => `${t.status}: ${t.name}`);

describe('parseTap (node:test output)', () => {
  const tap = `TAP version 13
# Subtest: adds
ok 1 - adds
  ---
  duration_ms: 1.5
  ...
# Subtest: fails
not ok 2 - fails
  ---
  duration_ms: 0.8
  failureType: 'testCodeFailure'
  error: '1 == 2'
  code: 'ERR_ASSERTION'
  ...
# Subtest: suite
    # Subtest: inner
    ok 1 - inner
      ---
      duration_ms: 0.1
      ...
    # Subtest: later
    ok 2 - later # SKIP
      ---
      duration_ms: 0
      ...
    1..2
ok 3 - suite
  ---
  duration_ms: 0.3
  type: 'suite'
  ...
1..3
`;
  it('reads leaves with their suite path, status, duration and failure message', () => {
    expect(looksLikeTap(tap)).toBe(true);
    expect(parseTap(tap)).toEqual({
      source: 'tap',
      tests: [
        { name: 'adds', status: 'passed', durationMs: 2, message: undefined },
        { name: 'fails', status: 'failed', durationMs: 1, message: '1 == 2' },
        { name: 'suite > inner', status: 'passed', durationMs: 0, message: undefined },
        { name: 'suite > later', status: 'skipped', durationMs: 0, message: undefined },
      ],
    });
  });

  it('reads plain TAP without YAML', () => {
    expect(parseTap('1..2\nok 1 - a\nnot ok 2 - b\n').tests.map((t) => [t.name, t.status])).toEqual([
      ['a', 'passed'],
      ['b', 'failed'],
    ]);
  });

  it('throws a typed error when there is no test line', () => {
    expect(() => parseTap('hello')).toThrow(ReportParseError);
  });
});

describe('parseJestJson', () => {
  it('names tests by file and describe path, and turns a broken test file into a failed test', () => {
    const report = {
      testResults: [
        {
          name: '/w/src/cart.test.js',
          status: 'failed',
          assertionResults: [
            { ancestorTitles: ['cart'], title: 'sums', status: 'passed', duration: 3 },
            { ancestorTitles: ['cart'], title: 'rounds', status: 'failed', duration: 4, failureMessages: ['Error: expected 2\n    at x'] },
            { ancestorTitles: [], title: 'later', status: 'pending', duration: null },
          ],
        },
        { name: '/w/src/broken.test.js', status: 'failed', failureMessage: 'SyntaxError: Unexpected token', assertionResults: [], startTime: 10, endTime: 15 },
      ],
    };
    expect(parseJestJson(JSON.stringify(report), '/w').tests).toEqual([
      { name: 'src/cart.test.js > cart > sums', status: 'passed', durationMs: 3, message: undefined },
      { name: 'src/cart.test.js > cart > rounds', status: 'failed', durationMs: 4, message: 'Error: expected 2\n    at x' },
      { name: 'src/cart.test.js > later', status: 'skipped', durationMs: 0, message: undefined },
      { name: 'src/broken.test.js (test file)', status: 'failed', durationMs: 5, message: 'SyntaxError: Unexpected token' },
    ]);
  });
});

describe('parseJUnitXml', () => {
  it('reads nested suites, failures, errors and skips with durations in ms', () => {
    const text = `<?xml version="1.0"?>
<testsuites>
  <testsuite name="cart">
    <testcase name="sums" classname="cart" time="0.012"/>
    <testcase name="rounds" classname="cart" time="0.004"><failure message="expected 2">stack</failure></testcase>
    <testcase name="boom" classname="cart" time="0"><error message="TypeError: x"/></testcase>
    <testcase name="todo" classname="cart"><skipped/></testcase>
  </testsuite>
</testsuites>`;
    expect(parseJUnitXml(text).tests).toEqual([
      { name: 'cart > sums', status: 'passed', durationMs: 12, message: undefined },
      { name: 'cart > rounds', status: 'failed', durationMs: 4, message: 'expected 2' },
      { name: 'cart > boom', status: 'failed', durationMs: 0, message: 'TypeError: x' },
      { name: 'cart > todo', status: 'skipped', durationMs: 0, message: undefined },
    ]);
  });
});

describe('results of each runner people use, read from its own report', () => {
  it('Mocha (xunit reporter): every test of the run, not "1 passed" for the whole command', () => {
    const results = parseJUnitXml(report('mocha.xml'));
    expect(summary(results)).toEqual([
      'passed: Mocha Tests > top level',
      'passed: Mocha Tests > cart > sums',
      'failed: Mocha Tests > cart > fails',
      'skipped: Mocha Tests > cart > skipped',
      'passed: Mocha Tests > cart inner > deep',
    ]);
    expect(results.tests[2]?.message).toMatch(/^Expected values to be strictly equal/);
  });

  it('Vitest (json reporter): named by file and describe path like Jest', () => {
    const results = parseJestJson(report('vitest.json'), '/repo', 'vitest-json');
    expect(results.source).toBe('vitest-json');
    expect(summary(results)).toEqual(['passed: test/v.test.js > cart > sums', 'failed: test/v.test.js > cart > fails', 'skipped: test/v.test.js > cart > skipped', 'passed: test/v.test.js > cart > inner > deep']);
    expect(results.tests[1]?.message).toMatch(/expected 2 to be 3/);
  });

  it('node:test (TAP): suites and top-level tests of several files', () => {
    expect(summary(parseTap(report('node.tap')))).toEqual(['passed: cart > sums', 'failed: cart > fails', 'passed: top', 'passed: spawns']);
  });

  it('Jasmine (Antibody\'s reporter, JUnit XML): suites as the path, a failing afterAll as its own failed test', () => {
    expect(summary(parseJUnitXml(report('jasmine.xml')))).toEqual(['passed: hooky > ok', 'failed: hooky (afterAll)', 'passed: cart > inner > deep', 'skipped: cart > skipped', 'passed: cart > sums', 'failed: cart > fails']);
  });

  it('AVA (--tap): one test point per test, `file › title` read as `file > title`', () => {
    const results = parseTap(report('ava.tap'));
    expect(summary(results)).toEqual(['skipped: a2 > skipped', 'passed: a2 > sums', 'failed: a2 > fails', 'skipped: a > skipped', 'passed: a > sums', 'failed: a > fails']);
    expect(results.tests[2]?.message).toContain('AssertionError');
  });

  it('node-tap (--reporter=tap): subtests are the tests, their assertions are not', () => {
    const results = parseTap(report('tap.tap'));
    expect(summary(results)).toEqual(['passed: test/x.test.js > cart > sums', 'failed: test/x.test.js > cart > fails', 'passed: test/x.test.js > top']);
    expect(results.tests[0]?.durationMs).toBe(17);
    expect(results.tests[1]?.message).toContain('compare: ===');
  });

  it('tape: the assertions under a test\'s comment are one test, failed when any failed', () => {
    const results = parseTap(report('tape.tap'), { groupBy: 'comment' });
    expect(summary(results)).toEqual(['passed: sums', 'failed: fails', 'passed: plan']);
    expect(results.tests[1]?.message).toBe('operator: equal\nexpected: 2\nactual:   1');
    expect(results.incomplete).toBeUndefined();
  });
});

describe('a run that did not finish is a failed run, never a pass', () => {
  it('given TAP that stops before its plan, then the results are incomplete and carry a failed test saying so', () => {
    const cut = parseTap('TAP version 13\n1..3\nok 1 - a\nok 2 - b\n');
    expect(cut.incomplete).toBe('the run ended after 2 of the 3 tests its plan declared');
    expect(cut.tests).toContainEqual({ name: INCOMPLETE_RUN_TEST, status: 'failed', durationMs: 0, message: cut.incomplete });
  });

  it('given TAP cut off before it printed its plan (node:test and tape print it last), then the results are incomplete', () => {
    const tape = report('tape.tap');
    const cut = parseTap(tape.slice(0, tape.indexOf('# plan')), { groupBy: 'comment' });
    expect(cut.incomplete).toBe('the run ended without printing its plan, after 3 tests: it was cut off');
    expect(summary(cut)).toEqual(['passed: sums', 'failed: fails', `failed: ${INCOMPLETE_RUN_TEST}`]);
    const node = report('node.tap');
    expect(parseTap(node.slice(0, node.indexOf('# Subtest: top'))).incomplete).toMatch(/without printing its plan/);
  });

  it('given a bail out, then the results are incomplete', () => {
    expect(parseTap('TAP version 13\nok 1 - a\nBail out! database down\n').incomplete).toBe('the run bailed out (database down)');
  });

  it('tells a process that was killed or ran out of memory from one that ended on its own', () => {
    expect(deathOf({ exitCode: null, signal: 'SIGKILL', output: '' })).toBe('the test run was killed (SIGKILL)');
    expect(deathOf({ exitCode: 137, signal: null, output: '' })).toBe('the test run was killed (SIGKILL, exit code 137)');
    expect(deathOf({ exitCode: 1, signal: null, output: 'npm error signal SIGKILL\n' })).toBe('the test run was killed (SIGKILL)');
    expect(deathOf({ exitCode: 1, signal: null, output: 'FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory' })).toBe('the test run ran out of memory (JavaScript heap out of memory)');
    expect(deathOf({ exitCode: 1, signal: null, output: '1 failing' })).toBeUndefined();
    expect(deathOf({ exitCode: 0, signal: null, output: '' })).toBeUndefined();
  });

  it('marks results once', () => {
    const once = markIncomplete({ source: 'junit', tests: [] }, 'killed');
    expect(markIncomplete(once, 'again')).toBe(once);
  });
});

describe('exitCodeResult', () => {
  it('makes the whole command one test when no report exists', () => {
    expect(exitCodeResult('make test', 2, 1200.4, 'boom').tests).toEqual([{ name: 'make test (exit code)', status: 'failed', durationMs: 1200, message: 'boom' }]);
  });
});
