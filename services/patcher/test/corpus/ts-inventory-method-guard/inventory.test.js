const { test } = require('node:test');
const assert = require('node:assert/strict');
const { Inventory } = require('./src/inventory');
test('unknown SKUs have nothing available', () => assert.equal(new Inventory().available('x'), 0));
test('counts stock', () => {
  const inv = new Inventory();
  inv.add('a', 3);
  assert.equal(inv.available('a'), 3);
});
