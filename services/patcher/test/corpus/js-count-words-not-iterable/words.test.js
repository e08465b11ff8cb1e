const { test } = require('node:test');
const assert = require('node:assert/strict');
const { countWords } = require('./src/words');
test('no lines, no words', () => assert.equal(countWords(undefined), 0));
test('counts words', () => assert.equal(countWords(['a b', 'c']), 3));
