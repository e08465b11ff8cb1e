const { test } = require('node:test');
const assert = require('node:assert/strict');
const { decodeQuery } = require('./src/query');
test('a broken escape does not crash', () => assert.doesNotThrow(() => decodeQuery('%E0%A4%A')));
test('decodes', () => assert.equal(decodeQuery('a%20b+c'), 'a b c'));
