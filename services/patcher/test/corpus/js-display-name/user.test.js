const { test } = require('node:test');
const assert = require('node:assert/strict');
const { displayName } = require('./src/user');
test('a user without a profile has no display name', () => assert.equal(displayName({}), undefined));
test('the profile name is used', () => assert.equal(displayName({ profile: { name: 'Ann' } }), 'Ann'));
