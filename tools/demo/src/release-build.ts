// The demo's stand-in for the application's CI: turns a commit of the sample application into a
// runnable release directory `<releasesDir>/<service>@<first 12 hex of the commit>` — the layout
// the deployer's fleet adapter expects (docs/rollout.md: "your build step must put the built fix
// there"). The demo builds the stable release itself, and a git `post-receive` hook on the
// application's `origin` builds every pushed `antibody/*` branch, so the fix the deployer pushes is
// built before the deployer asks the fleet agent to start it.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** What the fleet agent runs in every release directory. */
export const RELEASE_ENTRY = 'antibody-start.js';

/** A build that failed; `message` carries the failing command's output. */
export class ReleaseBuildError extends Error {
  override readonly name = 'ReleaseBuildError';
  readonly code = 'RELEASE_BUILD_FAILED' as const;
}

/** The release name the deployer gives a commit: `<service>@<first 12 hex>`. */
export function releaseNameOf(service: string, commit: string): string {
  return `${service}@${commit.slice(0, 12)}`;
}

/** Git's own variables (set inside a hook) would point every git call at the hook's repository. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('GIT_')) env[k] = v;
  return env;
}

function run(command: string, args: readonly string[], cwd?: string): void {
  try {
    execFileSync(command, [...args], { cwd, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 16 * 1024 * 1024 });
  } catch (error) {
    const e = error as { stdout?: Buffer; stderr?: Buffer; message: string };
    throw new ReleaseBuildError(`${command} ${args.join(' ')} failed: ${(e.stderr?.toString() || e.stdout?.toString() || e.message).trim()}`);
  }
}

export interface BuildReleaseInput {
  /** Antibody's root: its node_modules serve the application (as `materialise-example.sh --link-deps` does). */
  readonly root: string;
  /** The repository (bare or not) holding `commit`. */
  readonly gitDir: string;
  readonly commit: string;
  readonly releasesDir: string;
  readonly service: string;
}

/**
 * Builds the release of `commit` (git archive, `tsc -p tsconfig.json`, and an entry that reports
 * the commit as the Sentry release) into a temporary directory, then renames it into place, so the
 * fleet agent never sees a half-built release. Returns the release name; an existing release is
 * kept as is. Throws ReleaseBuildError naming the failed step.
 */
export function buildRelease(input: BuildReleaseInput): string {
  const name = releaseNameOf(input.service, input.commit);
  const dest = join(input.releasesDir, name);
  if (existsSync(dest)) return name;
  mkdirSync(input.releasesDir, { recursive: true });
  const work = join(input.releasesDir, `.building-${name}-${process.pid}`);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work);
  try {
    const tar = `${work}.tar`;
    run('git', ['--git-dir', input.gitDir, 'archive', '--format=tar', '-o', tar, input.commit]);
    run('tar', ['-xf', tar, '-C', work]);
    rmSync(tar, { force: true });
    symlinkSync(join(input.root, 'node_modules'), join(work, 'node_modules'));
    run(process.execPath, [join(input.root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], work);
    writeFileSync(
      join(work, RELEASE_ENTRY),
      `// Written by the build step: this release reports its commit as its Sentry release, so Antibody\n` +
        `// reads exactly the code that failed.\nprocess.env.SENTRY_RELEASE = ${JSON.stringify(input.commit)};\nrequire('./dist/main.js');\n`,
    );
    // The validator's sandbox users and the replicas only read it.
    chmodSync(work, 0o755);
    renameSync(work, dest);
    return name;
  } catch (error) {
    rmSync(work, { recursive: true, force: true });
    throw error;
  }
}

/**
 * The `post-receive` hook of the application's origin: builds every pushed `refs/heads/antibody/*`
 * commit. Runs synchronously inside the push, so the deployer's push returns only once the
 * release exists.
 */
export function installBuildHook(options: { originDir: string; root: string; releasesDir: string; service: string }): void {
  const hook = join(options.originDir, 'hooks', 'post-receive');
  const script = join(options.root, 'tools', 'demo', 'dist', 'build-hook.js');
  writeFileSync(hook, `#!/bin/sh\nexec ${shellQuote(process.execPath)} ${shellQuote(script)} ${shellQuote(options.releasesDir)} ${shellQuote(options.service)} ${shellQuote(options.root)}\n`);
  chmodSync(hook, 0o755);
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
