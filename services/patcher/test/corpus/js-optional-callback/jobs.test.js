const { test } = require('node:test');
const assert = require('node:assert/strict');
const { runJob } = require('./src/jobs');
test('runs without a completion callback', () => assert.equal(runJob({ run: () => 5 }, {}), 5));
test('calls the callback when given', () => {
  const seen = [];
  runJob({ run: () => 7 }, { onDone: (r) => seen.push(r) });
  assert.deepEqual(seen, [7]);
});
