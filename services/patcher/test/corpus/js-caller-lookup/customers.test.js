const { test } = require('node:test');
const assert = require('node:assert/strict');
const { domainFor } = require('./src/customers');
test('an unknown customer has no domain', () => assert.equal(domainFor('zz'), undefined));
test('a known customer has one', () => assert.equal(domainFor('c1'), 'example.com'));
