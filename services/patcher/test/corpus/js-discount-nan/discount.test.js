const { test } = require('node:test');
const assert = require('node:assert/strict');
const { applyDiscount } = require('./src/discount');
test('a non-numeric percentage is refused by name', () => assert.throws(() => applyDiscount(200, 'ten'), /applyDiscount: expected percentText to be a number/));
test('applies the discount', () => assert.equal(applyDiscount(200, '10'), 180n));
