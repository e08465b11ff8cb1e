#!/usr/bin/env node
// `npm run bench -- <name>`: runs bench/dist/<name>.bench.js (built by `npm run build`), prints its
// table and writes bench/results/<name>.json. The benches themselves live in bench/src.
const { existsSync, readdirSync } = require('node:fs');
const { join } = require('node:path');

const name = process.argv[2];
const dist = join(__dirname, '..', 'bench', 'dist');
const available = existsSync(dist) ? readdirSync(dist).filter((f) => f.endsWith('.bench.js')).map((f) => f.replace('.bench.js', '')) : [];
if (!name || !available.includes(name)) {
  process.stderr.write(`antibody bench: unknown benchmark "${name ?? ''}"; choose one of: ${available.join(', ') || '(none built: run npm run build)'}\n`);
  process.exit(2);
}
require(join(dist, `${name}.bench.js`))
  .main()
  .then(() => process.exit(0))
  .catch((error) => {
    process.stderr.write(`antibody bench ${name}: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
