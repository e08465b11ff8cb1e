// Materialises and verifies the real-bug corpus:
//   REALBUGS_DIR=/work/realbugs node bench/dist/realbugs/materialise.js [--only id,id] [--fresh] [--out results.json] [--report bench/realbugs/VERIFIED.md]
// For each bug: a checkout of the parent and of the fix (from a local bare mirror,
// $REALBUGS_MIRRORS/<owner>+<name>/repo, default /work/.mirror; else a clone of the repository URL),
// the install and build commands in each, then the trigger run at both commits as an application
// would run it (a directory with node_modules/<package> linked to the checkout). Verified means: at
// the parent it throws the recorded exception (type, message) from the recorded frame, and at the
// fix it does not throw. Results go to $REALBUGS_DIR/verification.json (and, with --report, to a
// markdown table). Exit code 1 when any bug fails verification.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Bug, loadCorpus } from './corpus';
import { OBSERVER, TRIGGER_TIMEOUT_MS } from './trigger';

const ROOT = resolve(process.env.REALBUGS_DIR ?? '/work/realbugs');
const MIRRORS = resolve(process.env.REALBUGS_MIRRORS ?? '/work/.mirror');
const STEP_TIMEOUT_MS = Number(process.env.REALBUGS_STEP_TIMEOUT_S ?? 900) * 1000;


type TriggerResult =
  | { outcome: 'threw'; kind: string; type: string; message: string; stack: string }
  | { outcome: 'returned'; exitCode: number }
  | { outcome: 'no-result'; exitCode: number | null; stderr: string };

interface Side {
  readonly commit: string;
  readonly dir: string;
  readonly install: string;
  readonly build: string;
  readonly trigger?: TriggerResult;
  readonly frame?: string;
}

interface Verification {
  readonly id: string;
  readonly package: string;
  readonly verified: boolean;
  readonly reason: string;
  readonly parent?: Side;
  readonly fix?: Side;
  readonly seconds: number;
}

function log(message: string): void {
  process.stderr.write(`[realbugs] ${message}\n`);
}

function sh(command: string, cwd: string, timeout = STEP_TIMEOUT_MS): { ok: boolean; output: string } {
  const result = spawnSync('sh', ['-c', command], {
    cwd,
    timeout,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, CI: '1', HUSKY: '0', npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' },
  });
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}`;
  return { ok: result.status === 0, output: result.error ? `${result.error.message}\n${output}` : output };
}

function mirrorOf(bug: Bug): string | undefined {
  const [, owner, name] = /^https:\/\/github\.com\/([^/]+)\/([^/]+)$/.exec(bug.repository) ?? [];
  const dir = join(MIRRORS, `${owner}+${name}`, 'repo');
  return existsSync(dir) ? dir : undefined;
}

/** A checkout of `commit` in `dir`: a shared clone of the mirror (objects borrowed, nothing written to the mirror), or a clone of the URL. */
function checkout(bug: Bug, commit: string, dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dirname(dir), { recursive: true });
  const mirror = mirrorOf(bug);
  const source = mirror ?? `${bug.repository}.git`;
  execFileSync('git', ['clone', '--quiet', '--no-checkout', ...(mirror ? ['--shared'] : []), source, dir], { stdio: 'pipe' });
  execFileSync('git', ['-c', 'advice.detachedHead=false', 'checkout', '--quiet', commit], { cwd: dir, stdio: 'pipe' });
}

/** The committed manifest and lockfiles of `commit` (what an install starts from), read from git in `dir`. */
function manifests(dir: string, commit: string): string {
  return ['package.json', 'package-lock.json', 'yarn.lock', 'pnpm-lock.yaml', 'npm-shrinkwrap.json']
    .map((f) => {
      const shown = spawnSync('git', ['show', `${commit}:${f}`], { cwd: dir, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
      return `${f}\n${shown.status === 0 ? shown.stdout : '(none)'}`;
    })
    .join('\n');
}

/** Checkout, install, build one side; skipped when a previous run left it ready (unless --fresh). */
function prepare(bug: Bug, side: 'parent' | 'fix', fresh: boolean, parentDir?: string): { dir: string; install: string; build: string; error?: string } {
  const commit = side === 'parent' ? bug.parentCommit : bug.fixCommit;
  const dir = join(ROOT, bug.id, side);
  const stamp = join(dir, '.realbugs-ready');
  // A checkout is reused only when it was prepared from the same commit with the same commands.
  const recipe = JSON.stringify({ commit, install: bug.commands.install, build: bug.commands.build });
  if (!fresh && existsSync(stamp) && readFileSync(stamp, 'utf8') === recipe) return { dir, install: 'ready (previous run)', build: 'ready (previous run)' };
  log(`${bug.id}: ${side} ${commit.slice(0, 10)}: checkout`);
  checkout(bug, commit, dir);
  let install: string;
  if (parentDir && existsSync(join(parentDir, 'node_modules')) && manifests(dir, bug.parentCommit) === manifests(dir, commit)) {
    // Same manifest and lockfile as the parent: hard-link the parent's installed tree instead of a second install.
    execFileSync('cp', ['-al', join(parentDir, 'node_modules'), join(dir, 'node_modules')]);
    install = 'reused the parent install (same package.json and lockfile)';
  } else {
    log(`${bug.id}: ${side}: ${bug.commands.install}`);
    const result = sh(bug.commands.install, dir);
    if (!result.ok) return { dir, install: 'failed', build: 'not run', error: `install failed: ${result.output.slice(-2000)}` };
    install = 'ok';
  }
  let build = 'none (runs from source)';
  if (bug.commands.build) {
    log(`${bug.id}: ${side}: ${bug.commands.build}`);
    const result = sh(bug.commands.build, dir);
    if (!result.ok) return { dir, install, build: 'failed', error: `build failed: ${result.output.slice(-2000)}` };
    build = 'ok';
  }
  writeFileSync(stamp, recipe);
  return { dir, install, build };
}

/** Runs the trigger as an application would: its own directory, the package under node_modules/<name> (a link to the checkout). */
function runTrigger(bug: Bug, checkoutDir: string, side: string): TriggerResult {
  const app = join(ROOT, bug.id, `app-${side}`);
  rmSync(app, { recursive: true, force: true });
  const link = join(app, 'node_modules', ...bug.package.split('/'));
  mkdirSync(dirname(link), { recursive: true });
  symlinkSync(checkoutDir, link, 'dir');
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: `realbugs-app-${bug.id}`, private: true }, null, 2));
  const observer = join(app, 'observer.cjs');
  writeFileSync(observer, OBSERVER);
  const script = join(app, bug.trigger.kind === 'esm' ? 'trigger.mjs' : 'trigger.cjs');
  writeFileSync(script, bug.trigger.code);
  const resultFile = join(app, 'result.json');
  const run = spawnSync(process.execPath, ['--require', observer, script], {
    cwd: app,
    timeout: TRIGGER_TIMEOUT_MS,
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', TZ: 'UTC', LANG: 'C.UTF-8', REALBUGS_RESULT: resultFile },
  });
  if (!existsSync(resultFile)) return { outcome: 'no-result', exitCode: run.status, stderr: `${run.error?.message ?? ''}${run.stderr ?? ''}`.slice(-2000) };
  return JSON.parse(readFileSync(resultFile, 'utf8')) as TriggerResult;
}

/** The innermost stack frame inside the checkout but outside its node_modules, as `file:line` relative to the checkout. */
export function packageFrame(stack: string, checkoutDir: string): string | undefined {
  const root = realpathSync(checkoutDir);
  for (const line of stack.split('\n')) {
    const m = /^\s*at (?:.*? \()?(.+?):(\d+):\d+\)?$/.exec(line);
    if (!m || !m[1] || !m[2]) continue;
    const file = m[1].startsWith('file://') ? fileURLToPath(m[1]) : m[1];
    const rel = relative(root, file);
    if (rel.startsWith('..') || rel.startsWith('/') || rel.split('/').includes('node_modules')) continue;
    return `${rel}:${m[2]}`;
  }
  return undefined;
}

/** `file:line` against the recorded frame; a `*` in the recorded file stands for one path segment's part (content-hashed bundle names). */
export function frameMatches(frame: string | undefined, bug: Bug): boolean {
  if (!frame) return false;
  const escaped = bug.crash.frame.file.split('*').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${escaped.join('[^/]*')}:${bug.crash.frame.line}$`).test(frame);
}

function describe(result: TriggerResult): string {
  if (result.outcome === 'threw') return `${result.type}: ${result.message}`;
  if (result.outcome === 'returned') return `returned (exit ${result.exitCode})`;
  return `no result (exit ${result.exitCode}): ${result.stderr}`;
}

function verify(bug: Bug, fresh: boolean): Verification {
  const started = Date.now();
  const done = (verified: boolean, reason: string, parent?: Side, fix?: Side): Verification => ({
    id: bug.id,
    package: bug.package,
    verified,
    reason,
    parent,
    fix,
    seconds: Math.round((Date.now() - started) / 1000),
  });
  const p = prepare(bug, 'parent', fresh);
  if (p.error) return done(false, `parent: ${p.error}`);
  const parentTrigger = runTrigger(bug, p.dir, 'parent');
  const frame = parentTrigger.outcome === 'threw' ? packageFrame(parentTrigger.stack, p.dir) : undefined;
  const parent: Side = { commit: bug.parentCommit, dir: p.dir, install: p.install, build: p.build, trigger: parentTrigger, frame };
  const f = prepare(bug, 'fix', fresh, p.dir);
  if (f.error) return done(false, `fix: ${f.error}`, parent);
  const fixTrigger = runTrigger(bug, f.dir, 'fix');
  const fix: Side = { commit: bug.fixCommit, dir: f.dir, install: f.install, build: f.build, trigger: fixTrigger };
  const expectedFrame = `${bug.crash.frame.file}:${bug.crash.frame.line}`;
  if (parentTrigger.outcome !== 'threw') return done(false, `parent: the trigger did not throw (${describe(parentTrigger)})`, parent, fix);
  if (parentTrigger.type !== bug.crash.type || parentTrigger.message !== bug.crash.message)
    return done(false, `parent: threw ${describe(parentTrigger)}, recorded ${bug.crash.type}: ${bug.crash.message}`, parent, fix);
  if (!frameMatches(frame, bug)) return done(false, `parent: thrown at ${frame ?? '(no package frame)'}, recorded ${expectedFrame}`, parent, fix);
  if (fixTrigger.outcome !== 'returned' || fixTrigger.exitCode !== 0) return done(false, `fix: the trigger ${describe(fixTrigger)}`, parent, fix);
  return done(true, `parent throws ${bug.crash.type} at ${expectedFrame}; fix returns`, parent, fix);
}

function markdown(results: Verification[], bugs: Bug[]): string {
  const byId = new Map(bugs.map((b) => [b.id, b]));
  const ok = results.filter((r) => r.verified).length;
  const all = results.flatMap((r) => [r.parent, r.fix]).filter((side): side is Side => side !== undefined);
  const sides = all.length;
  const prepared = all.filter((side) => !side.install.startsWith('ready')).length;
  const lines = [
    '# Real-bug corpus: verification',
    '',
    `Run by \`bench/realbugs/materialise.ts\` on ${new Date().toISOString().slice(0, 10)} with Node.js ${process.version} (${process.platform}/${process.arch}):`,
    `${ok} of ${results.length} bugs verified (the trigger throws the recorded exception from the recorded frame at the parent commit, and returns at the fix commit).`,
    '',
    `Checkouts prepared in this run: ${prepared} of ${sides}; the others were reused from an earlier run of this script (stamped ready for the same commit, install and build commands; \`--fresh\` redoes them).`,
    '',
    '| id | package | lang | module | built | runner | parent | fix | outcome |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const r of results) {
    const b = byId.get(r.id);
    if (!b) continue;
    const outcome = r.verified ? `verified: ${r.reason}` : `FAILED: ${r.reason.replace(/\s+/g, ' ').slice(0, 300)}`;
    lines.push(
      `| ${b.id} | ${b.package} | ${b.language === 'typescript' ? 'ts' : 'js'} | ${b.moduleSystem} | ${b.built ? 'yes' : 'no'} | ${b.testRunner} | ${b.parentCommit.slice(0, 10)} | ${b.fixCommit.slice(0, 10)} | ${outcome.replace(/\|/g, '\\|')} |`,
    );
  }
  return `${lines.join('\n')}\n`;
}

function writeSummary(results: Verification[], out: string): { verified: number; total: number } {
  const summary = { date: new Date().toISOString(), node: process.version, root: ROOT, verified: results.filter((r) => r.verified).length, total: results.length, results };
  writeFileSync(out, `${JSON.stringify(summary, null, 2)}\n`);
  return summary;
}

export function main(argv: string[] = process.argv.slice(2)): number {
  const arg = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const only = arg('--only')?.split(',');
  const fresh = argv.includes('--fresh');
  const report = arg('--report');
  const out = resolve(arg('--out') ?? join(ROOT, only ? 'verification-partial.json' : 'verification.json'));
  const all = loadCorpus();
  const bugs = only ? all.filter((b) => only.includes(b.id)) : all;
  if (only && bugs.length !== only.length) throw new Error(`unknown id in --only: ${only.filter((id) => !all.some((b) => b.id === id)).join(', ')}`);
  mkdirSync(ROOT, { recursive: true });
  const results: Verification[] = [];
  for (const bug of bugs) {
    let result: Verification;
    try {
      result = verify(bug, fresh);
    } catch (error) {
      result = { id: bug.id, package: bug.package, verified: false, reason: `infrastructure: ${error instanceof Error ? error.message : String(error)}`, seconds: 0 };
    }
    log(`${bug.id}: ${result.verified ? 'VERIFIED' : 'FAILED'}: ${result.reason}`);
    results.push(result);
    writeSummary(results, out);
  }
  const summary = writeSummary(results, out);
  if (report) writeFileSync(report, markdown(results, all));
  process.stdout.write(`${summary.verified}/${summary.total} verified\n`);
  return summary.verified === summary.total ? 0 : 1;
}

if (require.main === module) process.exitCode = main();
