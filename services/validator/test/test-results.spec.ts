import { exitCodeResult, looksLikeTap, parseJestJson, parseJUnitXml, parseTap, ReportParseError } from '../src/domain/test-results';

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

describe('exitCodeResult', () => {
  it('makes the whole command one test when no report exists', () => {
    expect(exitCodeResult('make test', 2, 1200.4, 'boom').tests).toEqual([{ name: 'make test (exit code)', status: 'failed', durationMs: 1200, message: 'boom' }]);
  });
});
