import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// The validator's sandbox and workspaces, from its compiled output (services are not libraries;
// the bench measures them as they run).
import { detectIsolation, runSandboxed, scrubbedEnv } from '@antibody/validator/dist/infrastructure/sandbox';
import { runStep } from '@antibody/validator/dist/infrastructure/test-runner';
import { Workspaces } from '@antibody/validator/dist/infrastructure/workspace';
import { median, report } from './harness';

const SAMPLES = 3;
const PACKAGES = 500;

function gitRepo(dir: string, files: Record<string, string>): string {
  mkdirSync(dir, { recursive: true });
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  const env = { ...process.env, GIT_AUTHOR_NAME: 'b', GIT_AUTHOR_EMAIL: 'b@example.com', GIT_COMMITTER_NAME: 'b', GIT_COMMITTER_EMAIL: 'b@example.com' };
  execFileSync('git', ['init', '--quiet', '--initial-branch=main'], { cwd: dir, env });
  execFileSync('git', ['add', '-A'], { cwd: dir, env });
  execFileSync('git', ['commit', '--quiet', '-m', 'bench'], { cwd: dir, env });
  return execFileSync('git', ['rev-parse', 'HEAD'], { cwd: dir, encoding: 'utf8' }).trim();
}

function direct(command: string, cwd: string, env: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn('sh', ['-c', command], { cwd, env, stdio: 'ignore' });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(performance.now() - started) : reject(new Error(`direct run exited ${code}`))));
  });
}

/** A ~5 s node:test suite: five tests of ~1 s CPU each, in one file (run sequentially). */
const SUITE = `const { test } = require('node:test');
for (let i = 0; i < 5; i++) {
  test('work ' + i, () => {
    const end = Date.now() + 1000;
    let x = 0;
    while (Date.now() < end) x += Math.sqrt(x + i);
  });
}
`;

export async function main(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'antibody-bench-validate-'));
  chmodSync(root, 0o711);
  try {
    const isolation = detectIsolation();
    // 1. sandbox overhead: the same ~5 s suite, directly and sandboxed, alternating, same run.
    const suiteDir = join(root, 'suite');
    gitRepo(suiteDir, { 'package.json': '{"name":"suite","scripts":{"test":"node --test"}}', 'test/work.test.js': SUITE });
    execFileSync('chmod', ['-R', 'a+rwX', suiteDir]);
    const home = join(root, 'home');
    const tmp = join(root, 'tmp');
    mkdirSync(home, { mode: 0o777 });
    mkdirSync(tmp, { mode: 0o777 });
    chmodSync(home, 0o777);
    chmodSync(tmp, 0o777);
    const env = scrubbedEnv(home, tmp);
    const limits = { timeLimitMs: 120_000, memoryBytes: 2 * 2 ** 30, maxProcesses: 256, outputCapBytes: 8 * 2 ** 20 };
    const directMs: number[] = [];
    const sandboxMs: number[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      directMs.push(await direct('node --test', suiteDir, env));
      const run = await runSandboxed({ command: 'node --test', cwd: suiteDir, writable: [suiteDir, home, tmp], env, network: 'none', limits });
      if (run.exitCode !== 0) throw new Error(`sandboxed suite failed: ${run.output.slice(-500)}`);
      sandboxMs.push(run.durationMs);
    }

    // 2. prepare: worktree + dependency reuse for a project with ~500 installed packages.
    const projectDir = join(root, 'project');
    const deps: Record<string, string> = {};
    for (let i = 0; i < PACKAGES; i++) deps[`pkg-${i}`] = '1.0.0';
    const install = `node -e "const fs=require('fs');for(let i=0;i<${PACKAGES};i++){const d='node_modules/pkg-'+i;fs.mkdirSync(d+'/lib',{recursive:true});fs.writeFileSync(d+'/package.json',JSON.stringify({name:'pkg-'+i,version:'1.0.0',main:'lib/index.js'}));fs.writeFileSync(d+'/lib/index.js','module.exports='+i+';');fs.writeFileSync(d+'/README.md','pkg '+i)}"`;
    const commit = gitRepo(projectDir, {
      'package.json': JSON.stringify({ name: 'project', dependencies: deps }),
      'package-lock.json': JSON.stringify({ name: 'project', lockfileVersion: 3, packages: Object.fromEntries(Object.keys(deps).map((d) => [`node_modules/${d}`, { version: '1.0.0' }])) }),
      'src/index.js': 'module.exports = 1;\n',
    });
    const workspaces = new Workspaces(join(root, 'work'));
    const mirror = await workspaces.mirrorOf(projectDir);
    // Cold: first worktree, install, fill the cache.
    const coldStart = performance.now();
    const cold = await workspaces.create(mirror, commit, 'cold');
    const key = await workspaces.dependencyKey(cold, install);
    if (!key) throw new Error('no dependency key');
    const uid = isolation.mode === 'namespaces' ? 250_000 : 0;
    if (isolation.mode === 'namespaces') await workspaces.giveTo(cold, uid);
    const installed = await runStep({ workspace: cold, limits, uid }, 'install', install, { network: 'host' });
    if (installed.summary.exitCode !== 0) throw new Error(`install failed: ${installed.output.slice(-500)}`);
    await workspaces.cacheDependencies(cold, key);
    const coldMs = performance.now() - coldStart;
    await workspaces.remove(cold);
    const prepareMs: number[] = [];
    for (let i = 0; i < 5; i++) {
      const started = performance.now();
      const ws = await workspaces.create(mirror, commit, `warm${i}`);
      const k = await workspaces.dependencyKey(ws, install);
      if (!k || !(await workspaces.linkDependencies(ws, k))) throw new Error('expected a dependency cache hit');
      if (isolation.mode === 'namespaces') await workspaces.giveTo(ws, uid);
      prepareMs.push(performance.now() - started);
      // Check the linked tree resolves: the last package is requirable from the worktree.
      execFileSync(process.execPath, ['-e', `if (require('pkg-${PACKAGES - 1}') !== ${PACKAGES - 1}) process.exit(1)`], { cwd: ws.worktree });
      await workspaces.remove(ws);
    }

    const d = median(directMs);
    const s = median(sandboxMs);
    report(
      'validate',
      {
        sandbox_overhead_ratio: { value: s / d, unit: 'x', goal: '<= 1.3', note: `median of ${SAMPLES}: sandboxed ${(s / 1000).toFixed(2)} s / direct ${(d / 1000).toFixed(2)} s (${isolation.mode})` },
        suite_direct_s: { value: d / 1000, unit: 's', note: 'same-run baseline: node --test directly' },
        suite_sandboxed_s: { value: s / 1000, unit: 's' },
        prepare_s: { value: median(prepareMs) / 1000, unit: 's', goal: '<= 2', note: `median of 5: worktree + cached node_modules (${PACKAGES} packages) linked + handed to the sandbox user` },
        prepare_cold_s: { value: coldMs / 1000, unit: 's', note: 'same-run baseline: first worktree with install and cache fill' },
      },
      { isolation, samples: { directMs, sandboxMs, prepareMs } },
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
