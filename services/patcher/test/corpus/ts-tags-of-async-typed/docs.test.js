const { test } = require('node:test');
const assert = require('node:assert/strict');
const { tagsOf } = require('./src/docs');
test('a missing document has no tags', async () => assert.deepEqual(await tagsOf({ find: async () => undefined }, 'x'), []));
test('reads tags', async () => assert.deepEqual(await tagsOf({ find: async () => ({ tags: ['a'] }) }, 'x'), ['a']));
