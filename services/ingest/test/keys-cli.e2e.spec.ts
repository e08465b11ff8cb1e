import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { testMetadata, waitFor } from '@antibody/testing';
import { envelope, sentryEvent, startIngest, type TestIngest } from './support';

// The compiled `antibody keys create|list|revoke` as a real process against a real store, and
// ingest honouring the result. `npm test` builds the CLI (or `npx tsc -b libs/cli`).
const CLI = join(__dirname, '..', '..', '..', 'libs', 'cli', 'bin', 'antibody.js');
describe('antibody keys', () => {
  let ingest: TestIngest;

  beforeAll(async () => {
    if (!existsSync(join(CLI, '..', '..', 'dist', 'main.js'))) throw new Error('the CLI is not built: run `npx tsc -b libs/cli`');
    ingest = await startIngest();
  });

  afterAll(async () => {
    await ingest.stop();
    await ingest.t.cleanup();
  });

  const cli = (...argv: string[]) =>
    new Promise<{ exitCode: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [CLI, ...argv, '--schema', ingest.t.schema], {
        env: { PATH: process.env['PATH'] ?? '', DATABASE_URL: ingest.t.databaseUrl },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      child.once('close', (exitCode) => resolve({ exitCode, stdout, stderr }));
    });

  it('creates a key ingest accepts, lists it without the secret, and revokes it', async () => {
    const name = `keys-${Date.now().toString(36)}`;
    await ingest.t.store.appendToStream(`service-${name}`, [
      {
        type: 'ServiceRegistered',
        data: {
          name,
          repository: { url: '/tmp/app', defaultBranch: 'main' },
          commands: { test: 'npm test' },
          language: 'javascript',
          deploy: { adapter: 'none', settings: {} },
          policy: { autoDeploy: false, allowedPaths: ['src/**'], forbiddenPaths: [], budgets: { perIncidentUsd: 1, dailyUsd: 1, monthlyUsd: 1 } },
        },
        metadata: testMetadata(),
      },
    ]);

    const created = await cli('keys', 'create', '--project', name, '--label', 'production', '--rate-limit', '600', '--json');
    expect(created.exitCode).toBe(0);
    const { keyId, key } = JSON.parse(created.stdout) as { keyId: string; key: string };
    expect(key).toMatch(/^[0-9a-f]{32}$/);

    const listed = await cli('keys', 'list', '--project', name);
    expect(listed.exitCode).toBe(0);
    expect(listed.stdout).toContain(keyId);
    expect(listed.stdout).toContain('active');
    expect(listed.stdout).toContain('600/min');
    expect(listed.stdout).not.toContain(key);
    const stream = JSON.stringify((await ingest.t.store.readStream(`service-${name}`)).events);
    expect(stream).not.toContain(key);

    const post = () => fetch(`${ingest.url}/api/1/envelope/?sentry_key=${key}`, { method: 'POST', body: envelope({}, [{ type: 'event' }, sentryEvent()]) });
    await waitFor(async () => (await post()).status === 200, { timeoutMs: 15_000, description: 'ingest to accept the new key' });

    const revoked = await cli('keys', 'revoke', keyId, '--project', name, '--reason', 'rotated');
    expect(revoked.exitCode).toBe(0);
    await waitFor(async () => (await post()).status === 403, { timeoutMs: 15_000, description: 'ingest to refuse the revoked key' });
    expect((await cli('keys', 'list', '--project', name)).stdout).toContain('revoked');
    expect(await cli('keys', 'revoke', keyId, '--project', name)).toMatchObject({ exitCode: 2, stderr: expect.stringContaining('already revoked') });
  });

  it('refuses unknown services and keys with exit 2 and one line', async () => {
    const unknown = await cli('keys', 'create', '--project', 'no-such-service');
    expect(unknown).toMatchObject({ exitCode: 2, stdout: '' });
    expect(unknown.stderr).toBe('antibody: service no-such-service is not registered; register it before creating ingest keys\n');
    expect((await cli('keys', 'create', '--project', 'bad name!')).exitCode).toBe(2);
    expect((await cli('keys', 'create', '--project', 'x', '--rate-limit', '0')).exitCode).toBe(2);
  });
});
