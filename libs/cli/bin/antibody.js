#!/usr/bin/env node
'use strict';
// The `antibody` command: runs the compiled CLI (libs/cli/dist), built by `npm run build`.
const fs = require('node:fs');
const path = require('node:path');

const main = path.join(__dirname, '..', 'dist', 'main.js');
if (!fs.existsSync(main)) {
  process.stderr.write('antibody: not built — run npm run build\n');
  process.exit(1);
}
require(main);
