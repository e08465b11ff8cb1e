const { test } = require('node:test');
const assert = require('node:assert/strict');
const { render } = require('./src/render');
test('no formatter renders nothing', () => assert.equal(render(3), ''));
test('uses the formatter', () => assert.equal(render(3, (n) => `#${n}`), '#3'));
