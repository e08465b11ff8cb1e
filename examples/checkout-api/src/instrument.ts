import * as Sentry from '@sentry/node';
// Read at run time, so the compiled file does not embed a copy of package.json.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { name, version } = require('../package.json') as { name: string; version: string };

/**
 * Initialises the Sentry SDK when `SENTRY_DSN` is set (loaded first by main.ts so the SDK can
 * instrument node:http). Release: `SENTRY_RELEASE` (the demo sets the git commit), else
 * `<name>@<version>`; environment: `SENTRY_ENVIRONMENT`, else `production`.
 */
if (process.env['SENTRY_DSN']) {
  Sentry.init({
    dsn: process.env['SENTRY_DSN'],
    release: process.env['SENTRY_RELEASE'] ?? `${name}@${version}`,
    environment: process.env['SENTRY_ENVIRONMENT'] ?? 'production',
    tracesSampleRate: 0,
  });
}
