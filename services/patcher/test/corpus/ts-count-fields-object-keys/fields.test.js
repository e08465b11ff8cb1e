const { test } = require('node:test');
const assert = require('node:assert/strict');
const { countFields } = require('./src/fields');
test('null has no fields', () => assert.equal(countFields(null), 0));
test('counts fields', () => assert.equal(countFields({ a: 1, b: 2 }), 2));
