const { test } = require('node:test');
const assert = require('node:assert/strict');
const { listenPort } = require('./src/config');
test('a missing port is refused by name', () => assert.throws(() => listenPort({}), /listenPort: expected .* to be a number/));
test('reads the port', () => assert.equal(listenPort({ PORT: '8080' }), 8080));
