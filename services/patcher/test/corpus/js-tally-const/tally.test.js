const { test } = require('node:test');
const assert = require('node:assert/strict');
const { tally } = require('./src/tally');
test('sums votes', () => assert.equal(tally([1, 2, 3]), 6));
