const { test } = require('node:test');
const assert = require('node:assert/strict');
const { tagList } = require('./src/posts');
test('tags that are not a list render as nothing', () => assert.equal(tagList({ title: 'x', tags: 'a,b' }), ''));
test('tags render with hashes', () => assert.equal(tagList({ title: 'x', tags: ['a', 'b'] }), '#a #b'));
