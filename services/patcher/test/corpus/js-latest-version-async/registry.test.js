const { test } = require('node:test');
const assert = require('node:assert/strict');
const { latestVersion } = require('./src/registry');
test('an unknown package has no latest version', async () => assert.equal(await latestVersion({ lookup: async () => undefined }, 'x'), undefined));
test('gives the last version', async () => assert.equal(await latestVersion({ lookup: async () => ({ versions: ['1', '2'] }) }, 'x'), '2'));
