const { test } = require('node:test');
const assert = require('node:assert/strict');
const { uniqueTags } = require('./src/unique');
test('missing lists are skipped', () => assert.deepEqual(uniqueTags([['a'], undefined, ['a', 'b']]), ['a', 'b']));
