// `@antibody/platform/bootstrap`: the start-up entry for services' main.ts. It loads only config
// and telemetry before starting telemetry (see src/bootstrap.ts); the main entry loads Nest.
module.exports = require('./dist/bootstrap');
