const { test } = require('node:test');
const assert = require('node:assert/strict');
const { hostOf } = require('./src/links');
test('a relative link has no host', () => assert.equal(hostOf('/about'), ''));
test('absolute links have one', () => assert.equal(hostOf('https://example.com/x'), 'example.com'));
