const { test } = require('node:test');
const assert = require('node:assert/strict');
const { lineTotal } = require('./src/cart');
test('an item without a price counts as 0', () => assert.equal(lineTotal({ qty: 2 }), 0));
test('priced items multiply', () => assert.equal(lineTotal({ price: { amount: 3 }, qty: 2 }), 6));
