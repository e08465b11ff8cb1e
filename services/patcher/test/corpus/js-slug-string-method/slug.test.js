const { test } = require('node:test');
const assert = require('node:assert/strict');
const { slug } = require('./src/slug');
test('numeric titles become slugs', () => assert.equal(slug(404), '404'));
test('slugifies', () => assert.equal(slug('Hello World'), 'hello-world'));
