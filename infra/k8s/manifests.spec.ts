// infra/k8s: every manifest parses, the basics hold, and the KEDA triggers name the JetStream
// consumers the services really create (durable `<service>-<name>` or `<service>-<Class>-<method>`,
// derived here from the services' @OnEvent decorators the way libs/bus/src/nest does).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';

const K8S = __dirname;
const ROOT = join(__dirname, '..', '..');
const SERVICES = ['ingest', 'analyzer', 'patcher', 'validator', 'deployer'] as const;
const PORTS = { ingest: 4100, analyzer: 4101, patcher: 4102, validator: 4103, deployer: 4104 };

type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function manifests(): Doc[] {
  return readdirSync(K8S)
    .filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml' && !f.endsWith('.example.yaml'))
    .flatMap((file) =>
      parseAllDocuments(readFileSync(join(K8S, file), 'utf8')).map((doc) => {
        expect(doc.errors).toEqual([]);
        return { ...(doc.toJS() as Doc), __file: file };
      }),
    );
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? tsFiles(join(dir, e.name)) : e.name.endsWith('.ts') && !e.name.endsWith('.spec.ts') ? [join(dir, e.name)] : [],
  );
}

/** The durable consumer names a service's @OnEvent methods create. */
function durablesOf(service: string): string[] {
  const names: string[] = [];
  for (const file of tsFiles(join(ROOT, 'services', service, 'src'))) {
    const source = readFileSync(file, 'utf8');
    const decorator = /@OnEvent\(/g;
    let match: RegExpExecArray | null;
    while ((match = decorator.exec(source))) {
      // The decorator's arguments: up to the parenthesis that closes `@OnEvent(`.
      let depth = 0;
      let end = match.index + '@OnEvent'.length;
      do {
        const ch = source[end++];
        if (ch === '(') depth++;
        else if (ch === ')') depth--;
      } while (depth > 0 && end < source.length);
      const args = source.slice(match.index, end);
      const after = source.slice(end);
      const explicit = /\bname:\s*'([^']+)'/.exec(args);
      if (explicit) {
        names.push(`${service}-${explicit[1]}`);
        continue;
      }
      const method = /^\s*(?:(?:public|async)\s+)*([A-Za-z0-9_]+)\s*\(/.exec(after)?.[1];
      const classes = [...source.slice(0, match.index).matchAll(/class\s+([A-Za-z0-9_]+)/g)];
      names.push(`${service}-${classes[classes.length - 1]?.[1]}-${method}`);
    }
  }
  return names.sort();
}

describe('infra/k8s', () => {
  const docs = manifests();
  const of = (kind: string, name: string) => docs.find((d) => d['kind'] === kind && d['metadata']?.['name'] === name);

  it('lists every manifest file in kustomization.yaml', () => {
    const kustomization = parseAllDocuments(readFileSync(join(K8S, 'kustomization.yaml'), 'utf8'))[0]?.toJS() as Doc;
    const files = readdirSync(K8S).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml' && !f.endsWith('.example.yaml'));
    expect([...kustomization['resources']].sort()).toEqual(files.sort());
    expect(kustomization['namespace']).toBe('antibody');
  });

  it('has only known kinds, each with a name', () => {
    for (const doc of docs) {
      expect(['Namespace', 'ConfigMap', 'Deployment', 'Service', 'ScaledObject']).toContain(doc['kind']);
      expect(typeof doc['metadata']?.['name']).toBe('string');
    }
  });

  describe.each(SERVICES)('antibody-%s', (service) => {
    const name = `antibody-${service}`;

    it('has a Deployment whose selector matches its pod labels, with probes on /health and resources', () => {
      const deployment = of('Deployment', name);
      expect(deployment).toBeDefined();
      const selector = deployment?.['spec']['selector']['matchLabels'] as Record<string, string>;
      expect(deployment?.['spec']['template']['metadata']['labels']).toMatchObject(selector);
      const container = deployment?.['spec']['template']['spec']['containers'][0] as Doc;
      expect(container['image']).toBe(`antibody/${service}:local`);
      expect(container['ports']).toEqual([{ name: 'http', containerPort: PORTS[service] }]);
      expect(container['env']).toContainEqual({ name: 'PORT', value: String(PORTS[service]) });
      for (const probe of ['readinessProbe', 'livenessProbe', 'startupProbe']) {
        expect(container[probe]['httpGet']).toEqual({ path: '/health', port: 'http' });
      }
      expect(container['resources']['requests']).toEqual({ cpu: expect.any(String), memory: expect.any(String) });
      expect(container['resources']['limits']).toEqual({ cpu: expect.any(String), memory: expect.any(String) });
      expect(container['envFrom']).toEqual(expect.arrayContaining([{ configMapRef: { name: 'antibody-config' } }, { secretRef: { name: 'antibody-secrets' } }]));
    });

    it('has a Service selecting the Deployment', () => {
      const svc = of('Service', name);
      const deployment = of('Deployment', name);
      expect(deployment?.['spec']['template']['metadata']['labels']).toMatchObject(svc?.['spec']['selector']);
      expect(svc?.['spec']['ports']).toEqual([{ name: 'http', port: PORTS[service], targetPort: 'http' }]);
    });

    it("has a ScaledObject on the service's own JetStream consumers (CPU for ingest)", () => {
      const scaled = of('ScaledObject', name);
      expect(scaled?.['apiVersion']).toBe('keda.sh/v1alpha1');
      expect(scaled?.['spec']['scaleTargetRef']).toEqual({ name });
      expect(scaled?.['spec']['minReplicaCount']).toBeGreaterThanOrEqual(1);
      const triggers = scaled?.['spec']['triggers'] as Doc[];
      const jetstream = triggers.filter((t) => t['type'] === 'nats-jetstream');
      for (const t of jetstream) expect(t['metadata']).toMatchObject({ stream: 'ANTIBODY', account: '$G', natsServerMonitoringEndpoint: expect.stringMatching(/:8222$/) });
      const durables = durablesOf(service);
      expect(jetstream.map((t) => t['metadata']['consumer']).sort()).toEqual(durables);
      if (durables.length === 0) expect(triggers.map((t) => t['type'])).toEqual(['cpu']);
    });
  });
});
