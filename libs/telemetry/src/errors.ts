/**
 * Thrown when telemetry configuration is invalid: an unknown exporter kind, a malformed OTLP
 * endpoint, or a missing service name. Raised only at start-up (by {@link telemetryOptionsFromEnv}
 * or `startTelemetry`), never while the program runs.
 *
 * The message names the offending setting (for example `OTEL_TRACES_EXPORTER`) and how to fix it;
 * `variable` carries that name for programmatic use.
 */
export class TelemetryConfigError extends Error {
  override readonly name = 'TelemetryConfigError';
  readonly code = 'TELEMETRY_CONFIG' as const;
  /** The environment variable or option that is wrong. */
  readonly variable: string;

  constructor(variable: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.variable = variable;
  }
}
