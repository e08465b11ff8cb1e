const { test } = require('node:test');
const assert = require('node:assert/strict');
const { merge } = require('./src/merge');
test('merging with nothing keeps the first list', () => assert.deepEqual(merge([2, 1]), [1, 2]));
test('merges and sorts', () => assert.deepEqual(merge([3], [1, 2]), [1, 2, 3]));
