// infra/k8s: the base and the production overlay, rendered (infra/test/kustomize.ts, and compared
// with `kubectl kustomize` where kubectl is installed), then
// - validated against the Kubernetes JSON schemas that kubernetes-models ships (compiled
//   validators; KEDA and Prometheus Operator CRDs from @kubernetes-models/keda and
//   /prometheus-operator), plus a strict pass that refuses unknown fields (the same packages'
//   TypeScript types, type-checked with excess-property checks, as kubeconform -strict would);
// - checked for the hardening, probes, disruption budgets, network policies and scrape config
//   docs/operations.md and infra/k8s/README.md promise;
// - checked that the KEDA triggers name the JetStream consumers the services really create
//   (durable `<service>-<name>` or `<service>-<Class>-<method>`, from their @OnEvent decorators).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject';
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { PersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import { Service } from 'kubernetes-models/v1/Service';
import ts from 'typescript';
import { parseAllDocuments } from 'yaml';
import { readManifests, renderKustomization, type Manifest } from './kustomize';

const ROOT = join(__dirname, '..', '..');
const K8S = join(ROOT, 'infra', 'k8s');
const SERVICES = ['ingest', 'analyzer', 'patcher', 'validator', 'deployer'] as const;
const PORTS = { ingest: 4100, analyzer: 4101, patcher: 4102, validator: 4103, deployer: 4104 };
/** The validator's capabilities, each justified in infra/k8s/README.md. */
const VALIDATOR_CAPABILITIES = ['SYS_ADMIN', 'SETUID', 'SETGID', 'CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'KILL'];

type Model = new (data: any) => { validate(): void }; // eslint-disable-line @typescript-eslint/no-explicit-any
/** Kind -> its model (the schema validator) and the module and name of its TypeScript type `I<name>`. */
const MODELS: Record<string, { model: Model; module: string; name: string }> = {
  Namespace: { model: Namespace, module: 'kubernetes-models/v1/Namespace', name: 'Namespace' },
  ConfigMap: { model: ConfigMap, module: 'kubernetes-models/v1/ConfigMap', name: 'ConfigMap' },
  Service: { model: Service, module: 'kubernetes-models/v1/Service', name: 'Service' },
  PersistentVolumeClaim: { model: PersistentVolumeClaim, module: 'kubernetes-models/v1/PersistentVolumeClaim', name: 'PersistentVolumeClaim' },
  Deployment: { model: Deployment, module: 'kubernetes-models/apps/v1/Deployment', name: 'Deployment' },
  PodDisruptionBudget: { model: PodDisruptionBudget, module: 'kubernetes-models/policy/v1/PodDisruptionBudget', name: 'PodDisruptionBudget' },
  NetworkPolicy: { model: NetworkPolicy, module: 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy', name: 'NetworkPolicy' },
  ScaledObject: { model: ScaledObject, module: '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject', name: 'ScaledObject' },
  ServiceMonitor: { model: ServiceMonitor, module: '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor', name: 'ServiceMonitor' },
};

const RENDERINGS = { base: join(K8S, 'base'), production: join(K8S, 'overlays', 'production') };

function kubectl(): boolean {
  return spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' }).status === 0;
}

function byKindAndName(docs: Manifest[]): Record<string, Manifest> {
  return Object.fromEntries(docs.map((d) => [`${d['kind']}/${d['metadata']?.['name']}`, d]));
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

/** Type-checks the manifests against the models' TypeScript types: unknown fields are errors. */
function strictFieldErrors(docs: Manifest[]): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'antibody-k8s-'));
  try {
    const lines: string[] = [];
    docs.forEach((doc, i) => {
      const { module, name } = MODELS[doc['kind']] as { module: string; name: string };
      lines.push(`import type { I${name} as T${i} } from '${module}';`);
      lines.push(`export const m${i}: T${i} = ${JSON.stringify(doc)};`);
    });
    const file = join(dir, 'manifests.ts');
    writeFileSync(file, lines.join('\n'));
    const program = ts.createProgram([file], {
      noEmit: true,
      strict: true,
      skipLibCheck: true,
      types: [],
      typeRoots: [],
      baseUrl: ROOT,
      paths: { '*': [join(ROOT, 'node_modules', '*')] },
      module: ts.ModuleKind.CommonJS,
      moduleResolution: ts.ModuleResolutionKind.Node10,
    });
    return ts.getPreEmitDiagnostics(program).map((d) => {
      const line = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start).line : -1;
      const doc = docs[Math.floor(line / 2)];
      return `${doc?.['kind']}/${doc?.['metadata']?.['name']}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`;
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe.each(Object.entries(RENDERINGS))('infra/k8s %s', (label, dir) => {
  const docs = renderKustomization(dir);
  const of = (kind: string, name: string): Manifest | undefined => docs.find((d) => d['kind'] === kind && d['metadata']?.['name'] === name);

  (kubectl() ? it : it.skip)('renders as `kubectl kustomize` does', () => {
    const out = spawnSync('kubectl', ['kustomize', dir], { encoding: 'utf8' });
    expect(out.stderr).toBe('');
    const theirs = parseAllDocuments(out.stdout).map((d) => d.toJS() as Manifest);
    expect(byKindAndName(docs)).toEqual(byKindAndName(theirs));
  });

  it('has only kinds with a schema here, each in namespace antibody', () => {
    for (const doc of docs) {
      expect(Object.keys(MODELS)).toContain(doc['kind']);
      if (doc['kind'] !== 'Namespace') expect(doc['metadata']?.['namespace']).toBe('antibody');
    }
  });

  it('validates against the Kubernetes JSON schemas (and the KEDA and Prometheus Operator CRDs)', () => {
    const failures: string[] = [];
    for (const doc of docs) {
      const { model: KindModel } = MODELS[doc['kind']] as { model: Model };
      try {
        new KindModel(doc).validate();
      } catch (err) {
        failures.push(`${doc['kind']}/${doc['metadata']?.['name']}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it('has no unknown field (strict, as kubeconform -strict)', () => {
    expect(strictFieldErrors(docs)).toEqual([]);
  });

  it('denies all traffic by default, lets anything reach ingest and Prometheus scrape every service', () => {
    const deny = of('NetworkPolicy', 'antibody-default-deny');
    expect(deny?.['spec']).toEqual({ podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
    expect(of('NetworkPolicy', 'antibody-ingest-intake')?.['spec']['ingress']).toEqual([{ ports: [{ port: 'http' }] }]);
    expect(of('NetworkPolicy', 'antibody-allow-monitoring')?.['spec']['podSelector']).toEqual({ matchLabels: { 'app.kubernetes.io/part-of': 'antibody' } });
    const outside = of('NetworkPolicy', 'antibody-egress-outside')?.['spec']['podSelector']['matchExpressions'][0]['values'];
    expect(outside).not.toContain('antibody-ingest');
  });

  describe.each(SERVICES)('antibody-%s', (service) => {
    const name = `antibody-${service}`;
    const deployment = of('Deployment', name) as Manifest;
    const pod = deployment?.['spec']['template']['spec'] as Manifest;
    const container = pod?.['containers'][0] as Manifest;

    it('has a Deployment whose selector matches its pods, the image, port, settings and resources', () => {
      expect(deployment['spec']['template']['metadata']['labels']).toMatchObject(deployment['spec']['selector']['matchLabels']);
      expect(container['image']).toBe(label === 'base' ? `antibody/${service}:local` : `registry.example.com/antibody/${service}:0.1.0`);
      expect(container['ports']).toEqual([{ name: 'http', containerPort: PORTS[service] }]);
      expect(container['env']).toContainEqual({ name: 'PORT', value: String(PORTS[service]) });
      expect(container['envFrom']).toEqual(expect.arrayContaining([{ configMapRef: { name: 'antibody-config' } }, { secretRef: { name: 'antibody-secrets' } }]));
      expect(container['resources']['requests']).toEqual({ cpu: expect.any(String), memory: expect.any(String) });
      expect(container['resources']['limits']).toEqual({ cpu: expect.any(String), memory: expect.any(String) });
    });

    it('probes readiness on /health/ready and liveness and start-up on /health/live', () => {
      expect(container['readinessProbe']['httpGet']).toEqual({ path: '/health/ready', port: 'http' });
      expect(container['livenessProbe']['httpGet']).toEqual({ path: '/health/live', port: 'http' });
      expect(container['startupProbe']['httpGet']).toEqual({ path: '/health/live', port: 'http' });
    });

    it('is hardened: RuntimeDefault seccomp, all capabilities dropped, read-only root, no service account token, non-root but for the validator', () => {
      expect(pod['automountServiceAccountToken']).toBe(false);
      expect(pod['securityContext']['seccompProfile']).toEqual({ type: 'RuntimeDefault' });
      const sc = container['securityContext'] as Manifest;
      expect(sc['readOnlyRootFilesystem']).toBe(true);
      expect(sc['capabilities']['drop']).toEqual(['ALL']);
      expect(sc['privileged']).toBeUndefined();
      expect(container['volumeMounts']).toContainEqual({ name: 'tmp', mountPath: '/tmp' });
      if (service === 'validator') {
        expect(sc['runAsUser']).toBe(0);
        expect(sc['capabilities']['add']).toEqual(VALIDATOR_CAPABILITIES);
        expect(sc['seccompProfile']).toEqual({ type: 'RuntimeDefault' });
      } else {
        expect(pod['securityContext']).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 });
        expect(sc).toMatchObject({ runAsNonRoot: true, allowPrivilegeEscalation: false });
        expect(sc['capabilities']['add']).toBeUndefined();
      }
    });

    it('has a Service selecting it and a PodDisruptionBudget that lets drains proceed one pod at a time', () => {
      const labels = deployment['spec']['template']['metadata']['labels'];
      const svc = of('Service', name);
      expect(labels).toMatchObject(svc?.['spec']['selector']);
      expect(svc?.['spec']['ports']).toEqual([{ name: 'http', port: PORTS[service], targetPort: 'http' }]);
      const pdb = of('PodDisruptionBudget', name);
      expect(labels).toMatchObject(pdb?.['spec']['selector']['matchLabels']);
      expect(pdb?.['spec']).toMatchObject({ maxUnavailable: 1, unhealthyPodEvictionPolicy: 'AlwaysAllow' });
    });

    it("has a ScaledObject on the service's own JetStream consumers (CPU for ingest)", () => {
      const scaled = of('ScaledObject', name);
      expect(scaled?.['spec']['scaleTargetRef']).toEqual({ name });
      expect(scaled?.['spec']['minReplicaCount']).toBeGreaterThanOrEqual(1);
      const triggers = scaled?.['spec']['triggers'] as Manifest[];
      const jetstream = triggers.filter((t) => t['type'] === 'nats-jetstream');
      for (const t of jetstream) expect(t['metadata']).toMatchObject({ stream: 'ANTIBODY', account: '$G', natsServerMonitoringEndpoint: expect.stringMatching(/:8222$/) });
      const durables = durablesOf(service);
      expect(jetstream.map((t) => t['metadata']['consumer']).sort()).toEqual(durables);
      if (durables.length === 0) expect(triggers.map((t) => t['type'])).toEqual(['cpu']);
    });
  });
});

describe('infra/k8s base and overlay files', () => {
  it('lists every manifest file of the base in its kustomization.yaml', () => {
    const base = RENDERINGS.base;
    const listed = (readManifests(join(base, 'kustomization.yaml'))[0] as Manifest)['resources'] as string[];
    const files = readdirSync(base).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml');
    expect([...listed].sort()).toEqual(files.sort());
  });

  it('in production: ingest runs 3 replicas spread over nodes with source maps on a claim, and a ServiceMonitor scrapes every Service', () => {
    const docs = renderKustomization(RENDERINGS.production);
    const of = (kind: string, name: string): Manifest | undefined => docs.find((d) => d['kind'] === kind && d['metadata']?.['name'] === name);
    const ingest = of('Deployment', 'antibody-ingest') as Manifest;
    expect(ingest['spec']['replicas']).toBe(3);
    expect(of('ScaledObject', 'antibody-ingest')?.['spec']['minReplicaCount']).toBe(3);
    expect(ingest['spec']['template']['spec']['volumes']).toContainEqual({ name: 'source-maps', persistentVolumeClaim: { claimName: 'antibody-source-maps', readOnly: true } });
    expect(of('PersistentVolumeClaim', 'antibody-source-maps')).toBeDefined();
    const monitor = of('ServiceMonitor', 'antibody') as Manifest;
    expect(monitor['spec']['endpoints']).toEqual([expect.objectContaining({ port: 'http', path: '/metrics' })]);
    for (const svc of docs.filter((d) => d['kind'] === 'Service')) {
      expect(svc['metadata']['labels']).toMatchObject(monitor['spec']['selector']['matchLabels']);
      expect(svc['spec']['ports'].map((p: Manifest) => p['name'])).toContain('http');
    }
  });

  it("justifies each of the validator's capabilities in infra/k8s/README.md", () => {
    const readme = readFileSync(join(K8S, 'README.md'), 'utf8');
    for (const capability of VALIDATOR_CAPABILITIES) expect(readme).toContain(`CAP_${capability}`);
  });
});
