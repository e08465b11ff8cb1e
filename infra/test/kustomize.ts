// The subset of kustomize that infra/k8s uses, so the rendered manifests can be checked where no
// kustomize binary is installed: `resources` (files and directories), `namespace`, `images`
// (newName, newTag) and `patches` made of JSON 6902 operations (add, replace, remove) with a
// kind/name target. Anything else in a kustomization.yaml is refused, so the spec fails rather than
// check something other than what `kubectl apply -k` would apply. Where kubectl is installed the
// spec also compares this rendering with `kubectl kustomize`.
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';

export type Manifest = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

interface Kustomization {
  apiVersion?: string;
  kind?: string;
  namespace?: string;
  resources?: string[];
  images?: Array<{ name: string; newName?: string; newTag?: string }>;
  patches?: Array<{ target: { kind: string; name: string }; patch: string }>;
}

const SUPPORTED = new Set(['apiVersion', 'kind', 'namespace', 'resources', 'images', 'patches']);
const CLUSTER_SCOPED = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition', 'PersistentVolume', 'StorageClass', 'PriorityClass']);

/** Parses every YAML document of a file, failing on a syntax error. */
export function readManifests(file: string): Manifest[] {
  return parseAllDocuments(readFileSync(file, 'utf8')).flatMap((doc) => {
    if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors.map((e) => e.message).join('; ')}`);
    const value = doc.toJS() as Manifest | null;
    return value ? [value] : [];
  });
}

/** The manifests `kubectl kustomize <dir>` builds, for the subset above. */
export function renderKustomization(dir: string): Manifest[] {
  const k = parse(readFileSync(join(dir, 'kustomization.yaml'), 'utf8')) as Kustomization;
  const unsupported = Object.keys(k).filter((key) => !SUPPORTED.has(key));
  if (unsupported.length > 0) throw new Error(`${dir}/kustomization.yaml: not supported by infra/test/kustomize.ts: ${unsupported.join(', ')}`);
  let docs: Manifest[] = (k.resources ?? []).flatMap((resource) => {
    const path = join(dir, resource);
    return statSync(path).isDirectory() ? renderKustomization(path) : readManifests(path);
  });
  if (k.namespace) {
    const namespace = k.namespace;
    docs = docs.map((doc) => (CLUSTER_SCOPED.has(doc['kind']) ? doc : { ...doc, metadata: { ...doc['metadata'], namespace } }));
  }
  for (const image of k.images ?? []) for (const doc of docs) for (const container of containersOf(doc)) retag(container, image);
  for (const { target, patch } of k.patches ?? []) {
    const matches = docs.filter((doc) => doc['kind'] === target.kind && doc['metadata']?.['name'] === target.name);
    if (matches.length === 0) throw new Error(`${dir}: patch target ${target.kind}/${target.name} not found`);
    const ops = parse(patch) as Array<{ op: string; path: string; value?: unknown }>;
    for (const doc of matches) for (const op of ops) applyOperation(doc, op);
  }
  return docs;
}

function containersOf(doc: Manifest): Manifest[] {
  const pod = doc['spec']?.['template']?.['spec'] ?? (doc['kind'] === 'Pod' ? doc['spec'] : undefined);
  return pod ? [...(pod['initContainers'] ?? []), ...(pod['containers'] ?? [])] : [];
}

function retag(container: Manifest, image: { name: string; newName?: string; newTag?: string }): void {
  const current = String(container['image']);
  const at = current.lastIndexOf(':');
  const [name, tag] = at > current.lastIndexOf('/') ? [current.slice(0, at), current.slice(at + 1)] : [current, undefined];
  if (name !== image.name) return;
  const newTag = image.newTag ?? tag;
  container['image'] = `${image.newName ?? name}${newTag ? `:${newTag}` : ''}`;
}

function applyOperation(doc: Manifest, op: { op: string; path: string; value?: unknown }): void {
  const keys = op.path
    .split('/')
    .slice(1)
    .map((key) => key.replace(/~1/g, '/').replace(/~0/g, '~'));
  const last = keys.pop();
  if (last === undefined) throw new Error(`patch path ${op.path}: empty`);
  let parent: Manifest = doc;
  for (const key of keys) {
    parent = parent[key];
    if (parent === undefined || parent === null) throw new Error(`patch path ${op.path}: ${key} not found`);
  }
  const list = Array.isArray(parent);
  const index = last === '-' ? (parent as unknown[]).length : Number(last);
  switch (op.op) {
    case 'add':
      if (list) (parent as unknown[]).splice(index, 0, op.value);
      else parent[last] = op.value;
      return;
    case 'replace':
      if (!(last in parent)) throw new Error(`patch path ${op.path}: nothing to replace`);
      parent[last] = op.value;
      return;
    case 'remove':
      if (list) (parent as unknown[]).splice(index, 1);
      else delete parent[last];
      return;
    default:
      throw new Error(`patch operation ${op.op} is not supported by infra/test/kustomize.ts`);
  }
}
