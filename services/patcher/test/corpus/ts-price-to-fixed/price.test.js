const { test } = require('node:test');
const assert = require('node:assert/strict');
const { formatPrice } = require('./src/price');
test('too many digits is refused by name', () => assert.throws(() => formatPrice(1, 101), /formatPrice: expected digits to be an integer between 0 and 100/));
test('formats', () => assert.equal(formatPrice(1.5, 2), '1.50'));
