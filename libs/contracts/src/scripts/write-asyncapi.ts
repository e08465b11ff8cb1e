// Writes docs/asyncapi.yaml and docs/event-catalog.md from the catalog.
// Run: npx tsc -b libs/contracts && node libs/contracts/dist/scripts/write-asyncapi.js
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { renderAsyncApiYaml } from '../asyncapi';
import { renderEventCatalogMarkdown } from '../catalog-doc';

// Compiled to libs/contracts/dist/scripts/write-asyncapi.js: four levels below the repository root.
const docs = join(resolve(__dirname, '..', '..', '..', '..'), 'docs');
mkdirSync(docs, { recursive: true });
writeFileSync(join(docs, 'asyncapi.yaml'), renderAsyncApiYaml());
writeFileSync(join(docs, 'event-catalog.md'), renderEventCatalogMarkdown());
process.stdout.write(`wrote ${join(docs, 'asyncapi.yaml')} and ${join(docs, 'event-catalog.md')}\n`);
