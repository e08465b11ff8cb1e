const { test } = require('node:test');
const assert = require('node:assert/strict');
const { allTags } = require('./src/groups');
test('groups without tags contribute none', () => assert.deepEqual(allTags([{ tags: ['a'] }, {}]), ['a']));
