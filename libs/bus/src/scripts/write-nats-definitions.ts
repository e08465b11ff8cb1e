import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { natsDefinitionFiles } from './nats-definitions';

// Run from the compiled file libs/bus/dist/scripts/: the repository root is four levels up.
const dir = join(__dirname, '..', '..', '..', '..', 'infra', 'nats');
for (const [name, content] of Object.entries(natsDefinitionFiles())) {
  writeFileSync(join(dir, name), `${JSON.stringify(content, null, 2)}\n`);
}
process.stdout.write(`wrote ${Object.keys(natsDefinitionFiles()).join(', ')} to infra/nats\n`);
