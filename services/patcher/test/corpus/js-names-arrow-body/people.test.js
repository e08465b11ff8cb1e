const { test } = require('node:test');
const assert = require('node:assert/strict');
const { firstNames } = require('./src/people');
test('people without a name give undefined', () => assert.deepEqual(firstNames([{}, { name: { first: 'A' } }]), [undefined, 'A']));
