const { test } = require('node:test');
const assert = require('node:assert/strict');
const { paginate } = require('./src/paginate');
test('defaults to the first ten', () => assert.equal(paginate(Array.from({ length: 20 }, (_, i) => i)).length, 10));
test('honours options', () => assert.deepEqual(paginate([1, 2, 3, 4], { limit: 2, offset: 1 }), [2, 3]));
