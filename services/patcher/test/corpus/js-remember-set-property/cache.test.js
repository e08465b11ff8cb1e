const { test } = require('node:test');
const assert = require('node:assert/strict');
const { remember } = require('./src/cache');
test('creates the entry table on first use', () => assert.equal(remember({}, 'k', 1).entries.k, 1));
test('keeps existing entries', () => assert.deepEqual(remember({ entries: { a: 0 } }, 'b', 2).entries, { a: 0, b: 2 }));
