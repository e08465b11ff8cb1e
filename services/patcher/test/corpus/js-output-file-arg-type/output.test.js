const { test } = require('node:test');
const assert = require('node:assert/strict');
const { outputFile } = require('./src/output');
test('a missing outDir is named in the error', () => assert.throws(() => outputFile({}), /outputFile: expected config.outDir to be a string/));
test('joins', () => assert.equal(outputFile({ outDir: 'out' }), 'out/report.json'));
