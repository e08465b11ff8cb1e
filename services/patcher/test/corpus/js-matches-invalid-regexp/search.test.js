const { test } = require('node:test');
const assert = require('node:assert/strict');
const { matches } = require('./src/search');
test('an invalid pattern matches nothing', () => assert.equal(matches('(', 'x'), false));
test('valid patterns match', () => assert.equal(matches('a+', 'caa'), true));
