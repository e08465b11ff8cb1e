// Loads only config and telemetry eagerly: Nest, pg, NATS and pino are imported after
// startTelemetry, so instrumentation is in place before they load.
import { startTelemetry, telemetryOptionsFromEnv, type Telemetry } from '@antibody/telemetry';
import type { z } from 'zod';
import type { RootModule } from './app';
import { baseServiceConfigSchema, loadConfig, serviceDisplayName, type BaseServiceConfig } from './config';
import type { PlatformModuleOptions } from './platform.module';

/** Exit code for a configuration error (EX_CONFIG from sysexits.h). */
export const EXIT_CONFIG = 78;
/** Exit code when Postgres or NATS stayed unreachable past the allowed attempts (EX_UNAVAILABLE). */
export const EXIT_UNAVAILABLE = 69;

/** Options of {@link bootstrapService}. */
export interface BootstrapOptions<C extends BaseServiceConfig> {
  /** Service name, e.g. `ingest`. */
  service: string;
  /**
   * Returns the service's root module given the platform options (config, open connections,
   * logger). It should import `PlatformModule.forRoot(platform)`, and load the service's module
   * file with a dynamic `import()` so that Nest loads after telemetry has started.
   */
  module: (platform: PlatformModuleOptions<C>) => RootModule | Promise<RootModule>;
  /** The config schema; {@link baseServiceConfigSchema} by default. */
  configSchema?: z.ZodType<C>;
}

/**
 * Starts a service process, in this order: validate the environment; start telemetry; connect
 * Postgres and (when `NATS_URL` is set) NATS, retrying with backoff; create the Nest app with the
 * JSON logger; listen on `PORT` and log `antibody-<service> listening on :<port>`.
 *
 * Never rejects; it ends the process instead:
 * - a bad or missing setting prints one line to stderr and exits 78 (no stack trace);
 * - SIGTERM/SIGINT while connecting exit 0; once running they close the app gracefully
 *   (HTTP server, NATS drain, pool, telemetry flush) and exit 0;
 * - any other start-up failure logs one line and exits 1 (69 when a connection gave up).
 */
export async function bootstrapService<C extends BaseServiceConfig = BaseServiceConfig>(
  options: BootstrapOptions<C>,
): Promise<void> {
  const name = serviceDisplayName(options.service);
  const schema = options.configSchema ?? (baseServiceConfigSchema as unknown as z.ZodType<C>);
  let config: C;
  let telemetry: Telemetry;
  try {
    config = loadConfig(schema, process.env, options.service);
    telemetry = startTelemetry(telemetryOptionsFromEnv(process.env, name, config.SERVICE_INSTANCE_ID));
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`${message.startsWith(name) ? message : `${name}: invalid configuration: ${message}`}\n`);
    process.exit(EXIT_CONFIG);
  }

  const { createPlatformLogger } = await import('./logging');
  const logger = createPlatformLogger({ service: options.service, instanceId: config.SERVICE_INSTANCE_ID, level: config.LOG_LEVEL });
  const exit = async (code: number): Promise<never> => {
    await telemetry.shutdown();
    logger.flush();
    process.exit(code);
  };

  // Until the app is up, a stop signal just abandons the connection attempts.
  const starting = new AbortController();
  const stop = (signal: NodeJS.Signals): void => {
    logger.info(`${name}: ${signal} received while starting; exiting`);
    starting.abort();
  };
  process.once('SIGTERM', stop).once('SIGINT', stop);

  try {
    const { connectNats, connectPostgres } = await import('./connections');
    const connect = { service: options.service, log: logger, signal: starting.signal };
    const postgres = await connectPostgres(config.DATABASE_URL, connect);
    const nats = config.NATS_URL ? await connectNats(config.NATS_URL, connect) : null;
    process.off('SIGTERM', stop).off('SIGINT', stop);

    const { createPlatformApp } = await import('./app');
    const app = await createPlatformApp(await options.module({ service: options.service, config, postgres, nats, logger, telemetry }));
    app.enableShutdownHooks(['SIGTERM', 'SIGINT'], { useProcessExit: true });
    await app.listen(config.PORT);
    logger.info(`${name} listening on :${config.PORT}`);
  } catch (err) {
    if (starting.signal.aborted) return exit(0);
    const { ConnectError, describeConnectError } = await import('./connections');
    if (err instanceof ConnectError) return exit(EXIT_UNAVAILABLE); // already logged by the retry loop
    logger.error({ err }, `${name}: failed to start (${describeConnectError(err)})`);
    return exit(1);
  }
}

// Services extend the base settings in their own config schema before Nest loads, so this light
// entry carries them too.
export { baseServiceConfigSchema, loadConfig } from './config';
export type { BaseServiceConfig } from './config';
