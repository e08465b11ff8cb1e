import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openApiDocument } from './openapi';

describe('the OpenAPI document', () => {
  it('is committed, up to date, as docs/console-openapi.json (run `npx nx run console:openapi` after changing the API)', () => {
    const committed = JSON.parse(readFileSync(join(__dirname, '..', '..', '..', '..', 'docs', 'console-openapi.json'), 'utf8')) as unknown;
    expect(committed).toEqual(JSON.parse(JSON.stringify(openApiDocument())));
  });

  it('describes every command with the body it validates and each refusal', () => {
    const paths = openApiDocument()['paths'] as Record<string, { post?: { requestBody: unknown; responses: Record<string, unknown> } }>;
    for (const command of ['approve', 'reject', 'retry', 'resolve', 'close']) {
      const post = paths[`/v1/incidents/{id}/${command}`]?.post;
      expect(Object.keys(post?.responses ?? {}).sort()).toEqual(['200', '400', '401', '403', '404', '409', '422']);
    }
    expect(JSON.stringify(paths['/v1/incidents/{id}/approve']?.post?.requestBody)).toContain('"required":["patchId"]');
  });
});
