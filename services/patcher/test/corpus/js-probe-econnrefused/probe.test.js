const { test } = require('node:test');
const assert = require('node:assert/strict');
const { isUp } = require('./src/probe');
test('a refused connection means down', async () => assert.equal(await isUp(1), false));
