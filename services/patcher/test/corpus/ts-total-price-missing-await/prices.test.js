const { test } = require('node:test');
const assert = require('node:assert/strict');
const { totalPrice } = require('./src/prices');
test('sums prices', async () => assert.equal(await totalPrice(), 6));
