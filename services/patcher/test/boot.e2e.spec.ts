import { join } from 'node:path';
import { freePort, startProcess, waitFor } from '@antibody/testing';

// Runs the compiled service as a real process: `npm test` builds it (or `npx tsc -b services/patcher`).
const MAIN = join(__dirname, '..', 'dist', 'main.js');
const DATABASE_URL = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';

const run = (env: Record<string, string>) => startProcess(MAIN, env);

describe('antibody-patcher as a process', () => {
  it('refuses a half-configured LLM tier with one line naming the variables, exit 78', async () => {
    const p = run({ DATABASE_URL, ANTIBODY_LLM_SMALL_MODEL: 'gpt-4o-mini' });
    expect(await p.exited).toBe(78);
    const lines = p.stderr().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^antibody-patcher: invalid configuration: ANTIBODY_LLM_SMALL_MODEL .*must be set together/);
  });

  it('starts without LLM settings (the tier is off), answers /health and stops on SIGTERM', async () => {
    const port = await freePort();
    const p = run({ DATABASE_URL, PORT: String(port), ANTIBODY_SCHEMA: 'e2e_patcher', LOG_LEVEL: 'warn' });
    try {
      await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/health`).catch(() => undefined))?.ok === true, { timeoutMs: 30_000, description: '/health' });
    } finally {
      p.stop();
    }
    expect(await p.exited).toBe(0);
  });
});
