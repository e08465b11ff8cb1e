// Antibody's harness around the checkout-api example (not part of the application: the
// materialise script leaves harness/ out). It proves the two facts the demo relies on: the
// application's own test suite passes on the current code, and each latent bug is real — a
// plausible request reaches it through the HTTP API and fails with the exact error.
import { spawnSync } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { createApp } from '../src/app';
import { CHECKOUT_BUGS } from './bugs';

const APP_DIR = join(__dirname, '..');


describe('checkout-api example', () => {
  it("passes its own test suite (jest with the application's config) on the current code", () => {
    const jest = require.resolve('jest/bin/jest');
    const run = spawnSync(process.execPath, [jest, '--ci', '--config', join(APP_DIR, 'jest.config.js')], { cwd: APP_DIR, encoding: 'utf8', timeout: 120_000 });
    expect(`${run.stderr}`).toMatch(/Tests:\s+\d+ passed, \d+ total/);
    expect(run.status).toBe(0);
  });

  describe.each(CHECKOUT_BUGS)('latent bug: $name', (bug) => {
    let server: Server;
    let base: string;

    beforeAll(async () => {
      server = createApp();
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

    it(`throws ${bug.error.name}: ${bug.message}`, () => {
      expect(bug.run).toThrow(bug.error);
      expect(bug.run).toThrow(bug.message);
    });

    it(`answers 500 to POST ${bug.path}`, async () => {
      const res = await fetch(base + bug.path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(bug.body) });
      expect(res.status).toBe(500);
      expect(await res.json()).toMatchObject({ error: 'internal error' });
    });
  });
});
