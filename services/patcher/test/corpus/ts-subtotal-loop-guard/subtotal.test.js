const { test } = require('node:test');
const assert = require('node:assert/strict');
const { subtotal } = require('./src/subtotal');
test('lines without a product are skipped', () => assert.equal(subtotal([{ qty: 1 }, { product: { price: 2 }, qty: 3 }]), 6));
