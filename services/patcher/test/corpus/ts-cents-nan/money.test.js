const { test } = require('node:test');
const assert = require('node:assert/strict');
const { cents } = require('./src/money');
test('non-numeric amounts are refused by name', () => assert.throws(() => cents('12,50'), /cents: expected amountText to be a number/));
test('converts', () => assert.equal(cents('12.5'), 1250n));
