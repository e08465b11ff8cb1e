import { hostname } from 'node:os';
import { z } from 'zod';
import { baseServiceConfigSchema, ConfigError, loadConfig } from './config';

const DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

function configError(env: NodeJS.ProcessEnv, service = 'ingest'): ConfigError {
  try {
    loadConfig(baseServiceConfigSchema, env, service);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('applies the defaults, including the per-service port', () => {
    const config = loadConfig(baseServiceConfigSchema, { DATABASE_URL }, 'analyzer');
    expect(config).toEqual({
      DATABASE_URL,
      PORT: 4101,
      SERVICE_INSTANCE_ID: `${hostname()}-${process.pid}`,
      LOG_LEVEL: 'info',
      OTEL_TRACES_EXPORTER: 'none',
      ANTIBODY_SCHEMA: 'antibody',
    });
    expect(config.NATS_URL).toBeUndefined();
  });

  it.each([
    ['ingest', 4100],
    ['analyzer', 4101],
    ['patcher', 4102],
    ['validator', 4103],
    ['deployer', 4104],
  ])('defaults PORT for %s to %i', (service, port) => {
    expect(loadConfig(baseServiceConfigSchema, { DATABASE_URL }, service).PORT).toBe(port);
  });

  it('reads every setting given, treating empty ones as unset', () => {
    const config = loadConfig(
      baseServiceConfigSchema,
      {
        DATABASE_URL,
        NATS_URL: 'nats://127.0.0.1:4222',
        PORT: '8080',
        SERVICE_INSTANCE_ID: 'ingest-0',
        LOG_LEVEL: 'debug',
        OTEL_TRACES_EXPORTER: 'OTLP',
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://localhost:4318',
        ANTIBODY_SCHEMA: '',
      },
      'ingest',
    );
    expect(config).toMatchObject({
      NATS_URL: 'nats://127.0.0.1:4222',
      PORT: 8080,
      SERVICE_INSTANCE_ID: 'ingest-0',
      LOG_LEVEL: 'debug',
      OTEL_TRACES_EXPORTER: 'otlp',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://localhost:4318',
      ANTIBODY_SCHEMA: 'antibody',
    });
  });

  it('rejects a missing DATABASE_URL in one line naming it', () => {
    const err = configError({});
    expect(err).toMatchObject({ name: 'ConfigError', code: 'CONFIG_INVALID', variables: ['DATABASE_URL'] });
    expect(err.message).toBe(
      'antibody-ingest: invalid configuration: DATABASE_URL is required (a postgres:// URL, e.g. postgres://postgres@127.0.0.1:5432/postgres)',
    );
  });

  it('rejects a DATABASE_URL that is not a postgres URL, without echoing its password', () => {
    const err = configError({ DATABASE_URL: 'mysql://root:hunter2@db/app' });
    expect(err.message).toBe(
      'antibody-ingest: invalid configuration: DATABASE_URL must be a postgres:// or postgresql:// URL (got "mysql://***@db/app")',
    );
  });

  it.each(['abc', '0', '65536', '80.5', '-1'])('rejects PORT=%s in one line naming PORT', (port) => {
    const err = configError({ DATABASE_URL, PORT: port });
    expect(err.variables).toEqual(['PORT']);
    expect(err.message).toBe(
      `antibody-ingest: invalid configuration: PORT must be an integer between 1 and 65535 (got "${port}")`,
    );
  });

  it('rejects an unknown LOG_LEVEL in one line naming it', () => {
    const err = configError({ DATABASE_URL, LOG_LEVEL: 'verbose' });
    expect(err.message).toBe(
      'antibody-ingest: invalid configuration: LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent (got "verbose")',
    );
  });

  it.each(['Antibody', 'anti-body', '1schema', 'x; DROP TABLE events', 'a'.repeat(64)])(
    'rejects the unsafe schema name %j',
    (schema) => {
      const err = configError({ DATABASE_URL, ANTIBODY_SCHEMA: schema });
      expect(err.variables).toEqual(['ANTIBODY_SCHEMA']);
      expect(err.message).toMatch(/^antibody-ingest: invalid configuration: ANTIBODY_SCHEMA must be a lower-case SQL identifier/);
    },
  );

  it('rejects a bad NATS_URL, OTEL_TRACES_EXPORTER and OTLP endpoint', () => {
    expect(configError({ DATABASE_URL, NATS_URL: 'http://x y' }).variables).toEqual(['NATS_URL']);
    expect(configError({ DATABASE_URL, OTEL_TRACES_EXPORTER: 'zipkin' }).variables).toEqual(['OTEL_TRACES_EXPORTER']);
    expect(configError({ DATABASE_URL, OTEL_EXPORTER_OTLP_ENDPOINT: 'localhost:4318' }).variables).toEqual([
      'OTEL_EXPORTER_OTLP_ENDPOINT',
    ]);
  });

  it('reports every bad variable on the same single line', () => {
    const err = configError({ PORT: 'abc', LOG_LEVEL: 'loud' });
    expect(err.variables).toEqual(['DATABASE_URL', 'PORT', 'LOG_LEVEL']);
    expect(err.message.split('\n')).toHaveLength(1);
  });

  it('validates service-specific settings added to the base schema', () => {
    const schema = baseServiceConfigSchema.extend({ INGEST_MAX_BODY_KB: z.coerce.number().int().positive() });
    expect(loadConfig(schema, { DATABASE_URL, INGEST_MAX_BODY_KB: '512' }, 'ingest').INGEST_MAX_BODY_KB).toBe(512);
    expect(() => loadConfig(schema, { DATABASE_URL, INGEST_MAX_BODY_KB: 'lots' }, 'ingest')).toThrow(/INGEST_MAX_BODY_KB/);
  });
});
