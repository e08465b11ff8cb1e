const { test } = require('node:test');
const assert = require('node:assert/strict');
const { report } = require('./src/report');
test('a users map instead of a list gives no ids', () => assert.deepEqual(report({ users: { a: { id: 1 } } }), []));
test('lists active ids', () => assert.deepEqual(report({ users: [{ id: 1, active: true }, { id: 2 }] }), [1]));
