const { test } = require('node:test');
const assert = require('node:assert/strict');
const { fromHex } = require('./src/hex');
test('bad hex is refused with a clear error', () => assert.throws(() => fromHex('zz'), /fromHex: expected code to be a Unicode code point/));
test('decodes', () => assert.equal(fromHex('41'), 'A'));
