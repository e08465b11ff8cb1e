import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { detectIsolation, memoryCgroups, runSandboxed, scrubbedEnv, type SandboxResult } from '../src/infrastructure/sandbox';

// The sandbox's memory limit on this host: resident memory of the whole run through a memory
// cgroup where one can be made (root with a delegated memory controller), so runners that reserve
// large WebAssembly memories work, while a run that really fills memory is killed.
jest.setTimeout(60_000);

const groups = detectIsolation().mode === 'namespaces' ? memoryCgroups() : null;
const withCgroups = groups ? it : it.skip;
if (!groups) process.stderr.write('sandbox-memory.int.spec: no memory cgroup can be made on this host (needs root and a memory controller): the cgroup specs are skipped; the limit is per process address space here\n');

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'antibody-sandbox-memory-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(script: string, memoryBytes: number): Promise<SandboxResult> {
  return runSandboxed({
    command: `node -e ${JSON.stringify(script)}`,
    cwd: dir,
    writable: [dir],
    env: scrubbedEnv(dir, dir),
    network: 'none',
    limits: { timeLimitMs: 30_000, memoryBytes, maxProcesses: 64, outputCapBytes: 2 ** 20 },
  });
}

describe('the memory limit of a sandboxed run', () => {
  withCgroups('given 512 MiB, then a WebAssembly memory reservation of 4 GiB works (address space is not what is limited)', async () => {
    const result = await run("const m = new WebAssembly.Memory({ initial: 1, maximum: 65536 }); console.log('reserved', m.buffer.byteLength)", 512 * 2 ** 20);
    expect(result).toMatchObject({ exitCode: 0, enforced: { limits: expect.arrayContaining(['memory 512MiB resident, whole run (cgroup)']) } });
    expect(result.output).toContain('reserved 65536');
  });

  withCgroups('given 256 MiB, then a run that fills 1 GiB of resident memory is killed', async () => {
    const result = await run('const a = []; for (let i = 0; i < 64; i++) { const b = Buffer.alloc(16 * 2 ** 20, 1); a.push(b); } console.log("filled")', 256 * 2 ** 20);
    expect(result.output).not.toContain('filled');
    expect(result.exitCode === 0).toBe(false);
  });
});
