import { telemetryOptionsFromEnv, TelemetryConfigError } from './index';

const fromEnv = (env: NodeJS.ProcessEnv) => telemetryOptionsFromEnv(env, 'ingest', 'ingest-1');

describe('telemetryOptionsFromEnv', () => {
  it('defaults to no exporter', () => {
    expect(fromEnv({})).toEqual({ serviceName: 'ingest', serviceInstanceId: 'ingest-1', exporter: 'none' });
    expect(fromEnv({ OTEL_TRACES_EXPORTER: '' }).exporter).toBe('none');
  });

  it('reads the exporter case-insensitively', () => {
    expect(fromEnv({ OTEL_TRACES_EXPORTER: ' Console ' }).exporter).toBe('console');
    expect(fromEnv({ OTEL_TRACES_EXPORTER: 'none' }).exporter).toBe('none');
  });

  it('prefers the traces endpoint, else appends /v1/traces to the base endpoint', () => {
    expect(fromEnv({ OTEL_TRACES_EXPORTER: 'otlp' }).otlpEndpoint).toBeUndefined();
    expect(
      fromEnv({
        OTEL_TRACES_EXPORTER: 'otlp',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://tempo:4318/custom',
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://ignored:4318',
      }).otlpEndpoint,
    ).toBe('http://tempo:4318/custom');
    expect(fromEnv({ OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://jaeger:4318/' }).otlpEndpoint).toBe(
      'http://jaeger:4318/v1/traces',
    );
  });

  it('ignores endpoints when the exporter is not otlp', () => {
    expect(fromEnv({ OTEL_TRACES_EXPORTER: 'console', OTEL_EXPORTER_OTLP_ENDPOINT: 'nonsense' })).not.toHaveProperty('otlpEndpoint');
  });

  it('rejects an unknown exporter, naming the variable', () => {
    let error: unknown;
    try {
      fromEnv({ OTEL_TRACES_EXPORTER: 'jaeger' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TelemetryConfigError);
    expect(error).toMatchObject({ name: 'TelemetryConfigError', code: 'TELEMETRY_CONFIG', variable: 'OTEL_TRACES_EXPORTER' });
    expect((error as Error).message).toMatch(/OTEL_TRACES_EXPORTER/);
    expect((error as Error).message).toMatch(/jaeger/);
  });

  it.each([
    ['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', 'tempo:4318'],
    ['OTEL_EXPORTER_OTLP_ENDPOINT', 'not a url'],
    ['OTEL_EXPORTER_OTLP_ENDPOINT', 'grpc://collector:4317'],
  ])('rejects a malformed %s, naming it', (variable, value) => {
    expect(() => fromEnv({ OTEL_TRACES_EXPORTER: 'otlp', [variable]: value })).toThrow(
      expect.objectContaining({ code: 'TELEMETRY_CONFIG', variable, message: expect.stringContaining(variable) }),
    );
  });
});
