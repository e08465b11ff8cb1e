import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { natsDefinitionFiles } from './nats-definitions';

describe('infra/nats', () => {
  it('holds exactly what the code defines (regenerate: node libs/bus/dist/scripts/write-nats-definitions.js)', () => {
    for (const [name, content] of Object.entries(natsDefinitionFiles())) {
      const committed = JSON.parse(readFileSync(join(__dirname, '..', '..', '..', '..', 'infra', 'nats', name), 'utf8'));
      expect(committed).toEqual(JSON.parse(JSON.stringify(content)));
    }
  });
});
