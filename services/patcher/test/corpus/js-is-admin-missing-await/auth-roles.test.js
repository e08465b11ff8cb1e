const { test } = require('node:test');
const assert = require('node:assert/strict');
const { isAdmin } = require('./src/auth-roles');
test('admins are recognised', async () => assert.equal(await isAdmin('u1'), true));
