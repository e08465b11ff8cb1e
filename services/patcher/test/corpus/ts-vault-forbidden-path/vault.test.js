const { test } = require('node:test');
const assert = require('node:assert/strict');
const { secretFor } = require('./src/secrets/vault');
test('a missing secret is empty', () => assert.equal(secretFor(new Map(), 'k'), ''));
