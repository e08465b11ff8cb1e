const { test } = require('node:test');
const assert = require('node:assert/strict');
const { sum } = require('./src/sum');
test('the sum of nothing is 0', () => assert.equal(sum([]), 0));
test('sums', () => assert.equal(sum([1, 2]), 3));
