const { test } = require('node:test');
const assert = require('node:assert/strict');
const { makeClient } = require('./src/client');
test('makes a client', () => assert.equal(makeClient('u').url, 'u'));
