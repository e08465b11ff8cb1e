import { runCli } from './program';

// Process entry of the `antibody` command (bin/antibody.js requires this file).
// SIGINT/SIGTERM stop a running tail cleanly; a second one exits at once.

const controller = new AbortController();
let signals = 0;
const stop = (): void => {
  signals += 1;
  if (signals > 1) process.exit(130);
  controller.abort();
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);

void runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env, signal: controller.signal }).then(
  (exitCode) => {
    process.exitCode = exitCode;
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    // Everything is closed by now; a lingering handle must not keep the command alive.
    setTimeout(() => process.exit(exitCode), 2_000).unref();
  },
);
