// Antibody's harness around the order-worker example (not part of the application: the
// materialise script leaves harness/ out). It proves the application's own suite passes on the
// current code and that each latent bug is real: a plausible job fails with the exact error.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ORDER_WORKER_BUGS } from './bugs';

const APP_DIR = join(__dirname, '..');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const orders = require('../src/orders') as Record<string, (payload: unknown) => unknown>;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { createQueue } = require('../src/queue') as {
  createQueue(options: { handlers: Record<string, (payload: unknown) => unknown> }): {
    enqueue(job: { id: string; type: string; payload: unknown }): string;
    status(id: string): { status: string; error?: string } | undefined;
    whenIdle(): Promise<void>;
  };
};

describe('order-worker example', () => {
  it("passes its own test suite (jest with the application's config) on the current code", () => {
    const jest = require.resolve('jest/bin/jest');
    const run = spawnSync(process.execPath, [jest, '--ci', '--config', join(APP_DIR, 'jest.config.js')], { cwd: APP_DIR, encoding: 'utf8', timeout: 120_000 });
    expect(run.stderr).toMatch(/Tests:\s+\d+ passed, \d+ total/);
    expect(run.status).toBe(0);
  });

  describe.each(ORDER_WORKER_BUGS)('latent bug: $name', (bug) => {
    it(`makes ${bug.function}() throw ${bug.error.name}`, () => {
      const run = () => orders[bug.function]?.(bug.payload);
      expect(run).toThrow(bug.error);
      expect(run).toThrow(bug.message);
    });

    it('fails its fulfil-order job, and the worker goes on', async () => {
      const queue = createQueue({ handlers: { 'fulfil-order': orders['fulfil'] as (p: unknown) => unknown } });
      queue.enqueue({ id: 'bad', type: 'fulfil-order', payload: bug.payload });
      queue.enqueue({ id: 'good', type: 'fulfil-order', payload: { ...ORDER_WORKER_BUGS[2].payload, customer: { id: 'c', email: 'c@example.com', notifications: { email: true } } } });
      await queue.whenIdle();
      expect(queue.status('bad')).toMatchObject({ status: 'failed', error: expect.stringContaining(`${bug.error.name}: ${bug.message}`) });
      expect(queue.status('good')).toMatchObject({ status: 'done' });
    });
  });
});
