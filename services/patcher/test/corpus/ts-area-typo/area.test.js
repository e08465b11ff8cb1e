const { test } = require('node:test');
const assert = require('node:assert/strict');
const { area } = require('./src/area');
test('multiplies', () => assert.equal(area(2, 3), 6));
