// `post-receive` hook of the demo application's origin (installed by installBuildHook):
//   build-hook.js <releasesDir> <service> <antibodyRoot>   with "<old> <new> <ref>" lines on stdin.
// Builds a release for every pushed antibody/* branch; git shows its stderr to the pusher.
import { resolve } from 'node:path';
import { buildRelease } from './release-build';

async function main(): Promise<void> {
  const [releasesDir, service, root] = process.argv.slice(2);
  const gitDir = process.env.GIT_DIR ?? '.';
  if (!releasesDir || !service || !root) {
    process.stderr.write('usage: build-hook.js <releasesDir> <service> <antibodyRoot>\n');
    process.exit(2);
  }
  let input = '';
  for await (const chunk of process.stdin) input += (chunk as Buffer).toString('utf8');
  let failed = false;
  for (const line of input.split('\n')) {
    const [, commit, ref] = line.trim().split(/\s+/);
    if (!commit || !ref?.startsWith('refs/heads/antibody/') || /^0+$/.test(commit)) continue;
    try {
      const name = buildRelease({ root, gitDir: resolve(gitDir), commit, releasesDir, service });
      process.stderr.write(`build: release ${name} ready in ${releasesDir}\n`);
    } catch (error) {
      failed = true;
      process.stderr.write(`build: ${ref} at ${commit} failed: ${(error as Error).message}\n`);
    }
  }
  process.exit(failed ? 1 : 0);
}

void main();
