const { test } = require('node:test');
const assert = require('node:assert/strict');
const { toLogLine } = require('./src/log');
test('a circular event does not crash logging', () => {
  const e = { a: 1 };
  e.self = e;
  assert.equal(toLogLine(e), '');
});
test('serialises', () => assert.equal(toLogLine({ a: 1 }), '{"a":1}'));
