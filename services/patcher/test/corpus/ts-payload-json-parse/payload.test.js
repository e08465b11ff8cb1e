const { test } = require('node:test');
const assert = require('node:assert/strict');
const { parsePayload } = require('./src/payload');
test('a body that is not JSON gives null', () => assert.equal(parsePayload('not json'), null));
test('JSON bodies parse', () => assert.deepEqual(parsePayload('{"a":1}'), { a: 1 }));
