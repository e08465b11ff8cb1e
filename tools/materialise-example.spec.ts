// tools/materialise-example.sh: a copy of an example as a git repository with a real history.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readlinkSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const SCRIPT = join(__dirname, 'materialise-example.sh');
const ROOT = join(__dirname, '..');

describe('tools/materialise-example.sh', () => {
  let work: string;
  beforeEach(() => (work = mkdtempSync(join(tmpdir(), 'materialise-'))));
  afterEach(() => rmSync(work, { recursive: true, force: true }));

  const run = (...args: string[]) => spawnSync('bash', [SCRIPT, ...args], { encoding: 'utf8' });
  const git = (dir: string, ...args: string[]) => execFileSync('git', ['-C', dir, ...args], { encoding: 'utf8' }).trim();

  it.each(['checkout-api', 'order-worker'])('makes %s a repository of three commits and prints HEAD', (example) => {
    const target = join(work, example);
    const result = run(example, target);
    expect(result.status).toBe(0);
    expect(result.stdout.trim()).toBe(git(target, 'rev-parse', 'HEAD'));
    expect(result.stdout.trim()).toMatch(/^[0-9a-f]{40}$/);
    expect(git(target, 'rev-parse', '--abbrev-ref', 'HEAD')).toBe('main');
    expect(git(target, 'log', '--format=%s').split('\n')).toHaveLength(3);
    expect(git(target, 'status', '--porcelain')).toBe('');
    expect(existsSync(join(target, 'harness'))).toBe(false);
    expect(existsSync(join(target, 'project.json'))).toBe(false);
    expect(existsSync(join(target, 'package.json'))).toBe(true);
  });

  it('gives the same commit ids every time (fixed authors and dates)', () => {
    const first = run('checkout-api', join(work, 'a')).stdout;
    const second = run('checkout-api', join(work, 'b')).stdout;
    expect(first).toBe(second);
  });

  it('brings the latent bugs in the second commit', () => {
    const target = join(work, 'checkout');
    run('checkout-api', target);
    const [, bugCommit] = git(target, 'log', '--reverse', '--format=%H').split('\n');
    expect(git(target, 'show', '--name-only', '--format=', bugCommit ?? '')).toContain('src/checkout.ts');
    expect(git(target, 'log', '--format=%H', '--', 'src/checkout.ts')).toBe(bugCommit);
  });

  it("with --link-deps, links Antibody's node_modules (ignored) so the app's own tests run", () => {
    const target = join(work, 'worker');
    expect(run('order-worker', target, '--link-deps').status).toBe(0);
    expect(readlinkSync(join(target, 'node_modules'))).toBe(join(ROOT, 'node_modules'));
    expect(git(target, 'status', '--porcelain')).toBe('');
    const tests = spawnSync('npm', ['test', '--silent'], { cwd: target, encoding: 'utf8', timeout: 120_000 });
    expect(tests.stderr).toMatch(/Tests:\s+\d+ passed/);
    expect(tests.status).toBe(0);
  });

  it('refuses an unknown example, a non-empty target and bad usage with exit 2 and one line', () => {
    const unknown = run('no-such-example', join(work, 'x'));
    expect(unknown.status).toBe(2);
    expect(unknown.stderr.trim()).toBe('materialise-example: no example named "no-such-example" under examples/');
    mkdirSync(join(work, 'full'));
    writeFileSync(join(work, 'full', 'file'), 'x');
    const full = run('order-worker', join(work, 'full'));
    expect(full.status).toBe(2);
    expect(full.stderr).toContain('exists and is not empty');
    expect(run('order-worker').status).toBe(2);
    expect(run('order-worker', join(work, 'y'), '--nope').status).toBe(2);
  });
});
