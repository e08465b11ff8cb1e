const { test } = require('node:test');
const assert = require('node:assert/strict');
const { greet } = require('./src/greet');
test('greets without arguments', () => assert.equal(greet(), 'Hello, there'));
test('greets by name', () => assert.equal(greet({ name: 'Ann' }), 'Hello, Ann'));
