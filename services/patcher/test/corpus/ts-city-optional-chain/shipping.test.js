const { test } = require('node:test');
const assert = require('node:assert/strict');
const { cityOf } = require('./src/shipping');
test('an order without shipping has no city', () => assert.equal(cityOf({}), ''));
test('reads the city', () => assert.equal(cityOf({ shipping: { address: { city: 'Oslo' } } }), 'Oslo'));
