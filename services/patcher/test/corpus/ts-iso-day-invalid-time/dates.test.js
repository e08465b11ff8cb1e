const { test } = require('node:test');
const assert = require('node:assert/strict');
const { isoDay } = require('./src/dates');
test('an unparseable date gives an empty day', () => assert.equal(isoDay('nope'), ''));
test('formats the day', () => assert.equal(isoDay('2024-03-05T10:00:00Z'), '2024-03-05'));
