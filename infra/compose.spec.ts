// docker-compose.yml and Dockerfile: the Compose rules Antibody relies on, checked on the parsed
// file, plus `docker compose config` / `docker-compose config` when either is installed.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

const ROOT = join(__dirname, '..');
const SERVICES = ['ingest', 'analyzer', 'patcher', 'validator', 'deployer'];
const SCALABLE = ['analyzer', 'patcher', 'validator', 'deployer'];

type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as Doc;
const services = compose['services'] as Record<string, Doc>;

function composeCli(): string[] | undefined {
  if (spawnSync('docker', ['compose', 'version'], { encoding: 'utf8' }).status === 0) return ['docker', 'compose'];
  if (spawnSync('docker-compose', ['version'], { encoding: 'utf8' }).status === 0) return ['docker-compose'];
  return undefined;
}

describe('docker-compose.yml', () => {
  it('runs Postgres 16, NATS 2.10 with JetStream and Jaeger with OTLP', () => {
    expect(services['postgres']?.['image']).toMatch(/^postgres:16/);
    expect(services['nats']?.['image']).toMatch(/^nats:2\.10/);
    expect(services['nats']?.['command']).toContain('-js');
    expect(services['jaeger']?.['image']).toMatch(/^jaegertracing\/all-in-one:/);
    expect(services['jaeger']?.['environment']).toMatchObject({ COLLECTOR_OTLP_ENABLED: 'true' });
    expect(services['jaeger']?.['ports']).toContain('16686:16686');
    for (const dep of ['postgres', 'nats']) expect(services[dep]?.['healthcheck']?.['test']).toBeDefined();
  });

  it.each(SERVICES)('builds %s from the Dockerfile, with its settings, a health check and healthy dependencies', (name) => {
    const svc = services[name] as Doc;
    expect(svc['build']).toEqual({ context: '.', dockerfile: 'Dockerfile', args: { SERVICE: name } });
    expect(existsSync(join(ROOT, 'services', name, 'tsconfig.json'))).toBe(true);
    expect(svc['environment']).toMatchObject({
      DATABASE_URL: expect.stringMatching(/^postgres:\/\/.*@postgres:5432\//),
      NATS_URL: 'nats://nats:4222',
      OTEL_TRACES_EXPORTER: 'otlp',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://jaeger:4318',
      PORT: expect.stringMatching(/^41\d\d$/),
    });
    expect(svc['healthcheck']['test'].join(' ')).toContain('/health');
    expect(svc['depends_on']).toMatchObject({ postgres: { condition: 'service_healthy' }, nats: { condition: 'service_healthy' } });
    expect(svc['container_name']).toBeUndefined();
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

  const cli = composeCli();
  (cli ? it : it.skip)(`passes \`${cli?.join(' ') ?? 'docker compose'} config\``, () => {
    const [command, ...args] = cli as string[];
    const result = spawnSync(command as string, [...args, '-f', join(ROOT, 'docker-compose.yml'), 'config', '-q'], { encoding: 'utf8' });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });
});

describe('Dockerfile', () => {
  const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');

  it('builds the service named by the SERVICE build argument and starts its dist/main.js', () => {
    expect(dockerfile).toMatch(/^ARG SERVICE$/m);
    expect(dockerfile).toContain('npm ci');
    expect(dockerfile).toContain('npx tsc -b "services/${SERVICE}"');
    expect(dockerfile).toContain('services/${SERVICE}/dist/main.js');
    expect(dockerfile).toMatch(/^HEALTHCHECK .*\n.*\/health/m);
  });

  it('keeps node_modules, build output and .git out of the build context', () => {
    const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n');
    for (const entry of ['**/node_modules', '**/dist', '.git']) expect(ignored).toContain(entry);
  });
});
