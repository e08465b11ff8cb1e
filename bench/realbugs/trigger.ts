// What the corpus's trigger runs share: materialise.ts verifies the facts with it, judge.ts judges a
// patch with it, so both read a run's end the same way.

/** How long a trigger may run. */
export const TRIGGER_TIMEOUT_MS = 60_000;

/** Preloaded into the trigger's process: records how it ended (the first uncaught exception, or a normal exit). */
export const OBSERVER = `'use strict';
const fs = require('node:fs');
const out = process.env.REALBUGS_RESULT;
let done = false;
function record(result) { if (done) return; done = true; fs.writeFileSync(out, JSON.stringify(result)); }
function threw(kind, e) {
  const isError = e instanceof Error;
  record({ outcome: 'threw', kind, type: isError ? e.name : typeof e, message: isError ? e.message : String(e), stack: isError ? String(e.stack) : '' });
  process.exit(1);
}
process.on('uncaughtException', (e) => threw('uncaughtException', e));
process.on('unhandledRejection', (e) => threw('unhandledRejection', e));
process.on('exit', (code) => record({ outcome: 'returned', exitCode: code }));
`;
