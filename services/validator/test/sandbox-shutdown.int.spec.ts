import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomInt } from 'node:crypto';
import { runSandboxed, SandboxAbortedError, SandboxedRuns, scrubbedEnv, type SandboxResult } from '../src/infrastructure/sandbox';

// A real sandboxed run (namespaces as root, else rlimits), stopped by closing a Nest application
// whose SandboxedRuns provider is the one ValidatorModule wires into every run.

/** Pids whose command line contains `marker` (the run's processes, whatever pid namespace they are in). */
function pidsWith(marker: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(marker)) pids.push(Number(entry));
    } catch {
      // Gone meanwhile.
    }
  }
  return pids;
}

/** Polls `condition` until it holds or `deadlineMs` passes (then fails with `what`). */
async function waitFor(what: string, condition: () => boolean, deadlineMs = 10_000): Promise<void> {
  const until = Date.now() + deadlineMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error(`timed out after ${deadlineMs} ms waiting until ${what}`);
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

@Module({ providers: [SandboxedRuns] })
class RunsModule {}

describe('a validator that stops its runs when it stops', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'antibody-sandbox-stop-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('given a long sandboxed run with a background child, when the application closes, then its whole process group is gone and the run draws no result', async () => {
    const app = await NestFactory.createApplicationContext(RunsModule, { logger: false });
    const runs = app.get(SandboxedRuns);
    // A fractional duration nothing else on the machine uses: the marker that finds the run's processes.
    const marker = `${randomInt(100_000, 999_999)}.${randomInt(100_000, 999_999)}`;
    const running: Promise<SandboxResult> = runSandboxed({
      command: `sleep ${marker} & sleep ${marker}; wait`,
      cwd: dir,
      writable: [dir],
      env: scrubbedEnv(dir, dir),
      network: 'none',
      limits: { timeLimitMs: 600_000, memoryBytes: 2 * 2 ** 30, maxProcesses: 64, outputCapBytes: 2 ** 20 },
      signal: runs.signal,
    });
    const outcome = running.then(
      (result) => ({ result }),
      (error: unknown) => ({ error }),
    );
    await waitFor('both sleeps of the run are running', () => pidsWith(`sleep\0${marker}`).length === 2);

    await app.close();

    await waitFor('no process of the run is left', () => pidsWith(`sleep\0${marker}`).length === 0);
    const settled = await outcome;
    expect(settled).toEqual({ error: expect.any(SandboxAbortedError) });
    // Once stopped, no new run starts.
    await expect(runSandboxed({ command: 'true', cwd: dir, writable: [dir], env: scrubbedEnv(dir, dir), network: 'none', limits: { timeLimitMs: 5000, memoryBytes: 2 * 2 ** 30, maxProcesses: 64, outputCapBytes: 2 ** 20 }, signal: runs.signal })).rejects.toBeInstanceOf(SandboxAbortedError);
  });
});
