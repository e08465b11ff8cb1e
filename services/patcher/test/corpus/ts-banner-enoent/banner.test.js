const { test } = require('node:test');
const assert = require('node:assert/strict');
const { loadBanner } = require('./src/banner');
test('a missing banner file gives an empty banner', () => assert.equal(loadBanner('/nonexistent/banner.txt'), ''));
test('reads the banner', () => assert.equal(loadBanner(__filename).slice(0, 5), 'const'));
