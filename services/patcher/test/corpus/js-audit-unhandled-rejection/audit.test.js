const { test } = require('node:test');
const assert = require('node:assert/strict');
const { handle } = require('./src/audit');
test('a failed audit is reported, not left unhandled', async () => assert.equal(await handle({}), 'audit failed'));
test('audited requests pass', async () => assert.equal(await handle({ user: 'u' }), 'ok'));
