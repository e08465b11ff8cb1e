const { test } = require('node:test');
const assert = require('node:assert/strict');
const { readSettings } = require('./src/settings');
test('empty settings fall back to defaults', () => assert.deepEqual(readSettings(''), { theme: 'light' }));
test('stored settings win', () => assert.equal(readSettings('{"theme":"dark"}').theme, 'dark'));
