// Writes docs/console-openapi.json from the document the console serves at /openapi.json.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openApiDocument } from '../infrastructure/openapi';

const target = join(__dirname, '..', '..', '..', '..', 'docs', 'console-openapi.json');
writeFileSync(target, `${JSON.stringify(openApiDocument(), null, 2)}\n`);
process.stdout.write(`wrote ${target}\n`);
