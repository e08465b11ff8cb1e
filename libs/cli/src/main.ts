import { runCli } from './program';

// Process entry of the `antibody` command (bin/antibody.js requires this file).
// SIGINT/SIGTERM stop a running tail cleanly; a second one exits at once. Output piped into a
// reader that stops early (`antibody replay … | head`) ends the command quietly: EPIPE stops a
// running tail and drops what is left to print, without a stack trace.

const controller = new AbortController();
let signals = 0;
const stop = (): void => {
  signals += 1;
  if (signals > 1) process.exit(130);
  controller.abort();
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);

let readerGone = false;
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
  readerGone = true;
  controller.abort();
});
const stdout = { write: (text: string) => (readerGone ? true : process.stdout.write(text)) };
// Notes and errors piped along (`2>&1 | head`) are dropped the same way.
let errorReaderGone = false;
process.stderr.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
  errorReaderGone = true;
});
const stderr = { write: (text: string) => (errorReaderGone ? true : process.stderr.write(text)) };

void runCli(process.argv.slice(2), { stdout, stderr, env: process.env, signal: controller.signal, color: process.stdout.isTTY === true && !process.env['NO_COLOR'] }).then((exitCode) => {
  process.exitCode = exitCode;
  process.off('SIGINT', stop);
  process.off('SIGTERM', stop);
  // Everything is closed by now; a lingering handle must not keep the command alive.
  setTimeout(() => process.exit(exitCode), 2_000).unref();
});
