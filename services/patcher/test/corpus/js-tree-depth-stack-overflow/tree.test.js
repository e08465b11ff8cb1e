const { test } = require('node:test');
const assert = require('node:assert/strict');
const { depth } = require('./src/tree');
test('a cyclic tree does not overflow', () => {
  const a = { children: [] };
  a.children.push(a);
  assert.doesNotThrow(() => depth(a));
});
