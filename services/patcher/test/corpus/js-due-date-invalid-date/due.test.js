const { test } = require('node:test');
const assert = require('node:assert/strict');
const { dueIn } = require('./src/due');
test('a garbage start date is named in the error', () => assert.throws(() => dueIn(1, 'garbage'), /dueIn: expected from to be a valid date/));
test('adds days', () => assert.equal(dueIn(1, '2024-01-01T00:00:00Z').toISOString(), '2024-01-02T00:00:00.000Z'));
