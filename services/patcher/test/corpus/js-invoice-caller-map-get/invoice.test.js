const { test } = require('node:test');
const assert = require('node:assert/strict');
const { invoiceTotal } = require('./src/invoice');
test('an unknown currency gives no total', () => assert.equal(invoiceTotal(10, 'XYZ'), undefined));
test('converts known currencies', () => assert.equal(invoiceTotal(10, 'EUR'), 11));
