const { test } = require('node:test');
const assert = require('node:assert/strict');
const { makeSlots } = require('./src/slots');
test('a negative count is refused with a clear error', () => assert.throws(() => makeSlots(-1), /makeSlots: expected count to be a non-negative integer/));
test('makes slots', () => assert.deepEqual(makeSlots(2), ['free', 'free']));
