const { test } = require('node:test');
const assert = require('node:assert/strict');
const { normaliseSku } = require('./src/sku');
test('numeric SKUs from JSON are accepted', () => assert.equal(normaliseSku(42), '42'));
test('text SKUs are normalised', () => assert.equal(normaliseSku(' ab '), 'AB'));
