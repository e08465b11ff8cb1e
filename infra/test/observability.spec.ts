// Dashboards and alert rules against the code: every metric a Grafana panel or a Prometheus rule
// queries is one the services register (the platform's and the bus's instruments, registered here
// on a real registry, plus the services' own, read from their sources), with labels it has; the
// dashboards parse and name the provisioned datasource; the rules parse with the fields Prometheus
// requires; docker-compose.yml provisions all of it. `promtool check` runs too where installed.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { createBusMetrics } from '@antibody/bus';
import { MetricsService } from '@antibody/platform';

const ROOT = join(__dirname, '..', '..');
const DASHBOARDS = join(ROOT, 'infra', 'grafana', 'dashboards');
const ALERTS = join(ROOT, 'infra', 'prometheus', 'alerts.yml');
const PROMETHEUS = join(ROOT, 'infra', 'prometheus', 'prometheus.yml');
const SERVICES = ['ingest', 'analyzer', 'patcher', 'validator', 'deployer'];
/** Labels every series has: ours (MetricsService's default labels) and the scrape target's. */
const COMMON_LABELS = ['service', 'service_instance', 'instance', 'job'];

type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Metric name -> its label names (histograms also answer to _bucket, _sum and _count). */
function registeredMetrics(): Map<string, Set<string>> {
  const metrics = new Map<string, Set<string>>();
  const add = (name: string, labels: readonly string[], histogram: boolean): void => {
    const set = new Set([...COMMON_LABELS, ...labels, ...(histogram ? ['le'] : [])]);
    metrics.set(name, set);
    if (histogram) for (const suffix of ['_bucket', '_sum', '_count']) metrics.set(`${name}${suffix}`, set);
  };
  // The platform's and the bus's instruments, as every service registers them.
  const service = new MetricsService('ingest', 'spec-1');
  createBusMetrics(service.registry);
  for (const metric of service.registry.getMetricsAsArray()) {
    const m = metric as unknown as { name: string; type: string; labelNames?: readonly string[] };
    // Node's default metrics: some (GC, heap spaces) have labels that prom-client adds per sample.
    const defaults = m.name.startsWith('nodejs_') ? ['kind', 'space', 'version', 'major', 'minor', 'patch', 'type'] : [];
    add(m.name, [...(m.labelNames ?? []), ...defaults], m.type === 'histogram' || m.type === 'summary');
  }
  // Each service's own instruments, read from its sources.
  for (const name of SERVICES) {
    for (const file of sourceFiles(join(ROOT, 'services', name, 'src'))) {
      const text = readFileSync(file, 'utf8');
      for (const match of text.matchAll(/(counter|gauge|histogram)\(\{\s*name:\s*'(antibody_[a-z0-9_]+)'([\s\S]*?)\}\)/g)) {
        const [, kind, metric, rest] = match as unknown as [string, string, string, string];
        const labels = /labelNames:\s*\[([^\]]*)\]/.exec(rest)?.[1] ?? '';
        add(metric, [...labels.matchAll(/'([a-z_]+)'/g)].map((l) => l[1] as string), kind === 'histogram');
      }
    }
  }
  add('up', [], false); // Prometheus's own, per target
  return metrics;
}

function sourceFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts') ? [path] : [];
  });
}

const PROMQL_WORDS = new Set([
  'sum', 'max', 'min', 'avg', 'count', 'by', 'without', 'rate', 'increase', 'irate', 'histogram_quantile', 'clamp_min', 'clamp_max',
  'label_values', 'on', 'ignoring', 'group_left', 'group_right', 'and', 'or', 'unless', 'bool', 'offset', 'topk', 'bottomk', 'abs', 'delta',
]);

/** The metrics an expression selects, each with the label names its matchers use; and the `by (...)` labels. */
function selectors(expr: string): { metrics: { name: string; labels: string[] }[]; grouping: string[] } {
  const code = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""'); // label values may hold anything
  const metrics: { name: string; labels: string[] }[] = [];
  for (const match of code.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\{([^}]*)\})?/g)) {
    const [whole, name, , matchers] = match as unknown as [string, string, string | undefined, string | undefined];
    const index = match.index ?? 0;
    const before = code.slice(0, index);
    const after = code.slice(index + whole.length);
    if (PROMQL_WORDS.has(name) || /^\d/.test(name) || /\$__\w*$|\$$/.test(before)) continue;
    if (/^\s*\(/.test(after) && !matchers) continue; // a function call
    if (/\b(by|without|on|ignoring)\s*\([^)]*$/.test(before)) continue; // a label in a grouping
    if (/\{[^}]*$/.test(before)) continue; // a label inside a matcher
    if (/\[\s*$/.test(before) || /^[smhdwy]\b/.test(name)) continue; // a range like [5m]
    metrics.push({ name, labels: [...(matchers ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!=|!~|=)/g)].map((m) => m[1] as string) });
  }
  const grouping = [...code.matchAll(/\b(?:by|without)\s*\(([^)]*)\)/g)].flatMap((m) => (m[1] as string).split(',').map((l) => l.trim()).filter(Boolean));
  return { metrics, grouping };
}

/** Problems of one expression against the registered metrics, in words. */
function checkExpression(expr: string, metrics: Map<string, Set<string>>): string[] {
  const problems: string[] = [];
  let depth = 0;
  for (const char of expr.replace(/"(?:[^"\\]|\\.)*"/g, '""')) {
    if ('({['.includes(char)) depth++;
    if (')}]'.includes(char)) depth--;
    if (depth < 0) break;
  }
  if (depth !== 0) problems.push(`unbalanced brackets in ${expr}`);
  const { metrics: used, grouping } = selectors(expr);
  if (used.length === 0) problems.push(`no metric in ${expr}`);
  for (const { name, labels } of used) {
    const known = metrics.get(name);
    if (!known) {
      problems.push(`${name} is not a registered metric (in ${expr})`);
      continue;
    }
    for (const label of labels) if (!known.has(label)) problems.push(`${name} has no label ${label} (in ${expr})`);
  }
  for (const label of grouping) {
    if (!used.some(({ name }) => metrics.get(name)?.has(label))) problems.push(`no metric of ${expr} has the label ${label}`);
  }
  return problems;
}

const metrics = registeredMetrics();
const dashboardFiles = readdirSync(DASHBOARDS).filter((f) => f.endsWith('.json'));
const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as Doc;

describe('metrics the code registers', () => {
  it('has the standard Node.js names, the bus and domain metrics, and no reserved label', () => {
    for (const name of ['process_cpu_user_seconds_total', 'process_resident_memory_bytes', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag_p99_seconds']) expect(metrics.has(name)).toBe(true);
    for (const name of [
      'antibody_bus_consumer_pending_messages',
      'antibody_bus_dead_letters_total',
      'antibody_relay_lag_seconds',
      'antibody_llm_spend_usd_total',
      'antibody_judge_decisions_total',
      'antibody_validation_duration_seconds_bucket',
      'antibody_incidents',
      'antibody_notices_total',
      'antibody_diagnoses_total',
      'antibody_ingest_accepted_total',
    ]) {
      expect(metrics.has(name)).toBe(true);
    }
    const service = new MetricsService('ingest', 'spec-2');
    createBusMetrics(service.registry);
    for (const metric of service.registry.getMetricsAsArray()) {
      const labels = (metric as unknown as { labelNames?: readonly string[] }).labelNames ?? [];
      expect({ metric: (metric as unknown as { name: string }).name, reserved: labels.filter((l) => l === 'instance' || l === 'job') }).toEqual({ metric: expect.any(String), reserved: [] });
    }
  });

  it('(the expression check finds an unknown metric, an unknown label and a bad grouping)', () => {
    expect(checkExpression('sum(rate(antibody_nope_total[5m]))', metrics)).toEqual([expect.stringContaining('antibody_nope_total is not a registered metric')]);
    expect(checkExpression('antibody_judge_decisions_total{verdict="x"}', metrics)).toEqual([expect.stringContaining('has no label verdict')]);
    expect(checkExpression('sum by (model) (antibody_bus_dead_letters_total)', metrics)).toEqual([expect.stringContaining('has the label model')]);
    expect(checkExpression('max by (consumer) (antibody_bus_consumer_pending_messages{service="$service"}) > 100', metrics)).toEqual([]);
  });
});

describe.each(dashboardFiles)('Grafana dashboard %s', (file) => {
  const dashboard = JSON.parse(readFileSync(join(DASHBOARDS, file), 'utf8')) as Doc;
  const panels = (dashboard['panels'] as Doc[]).filter((p) => p['type'] !== 'row');

  it('parses, with a uid, a title and panels that query the provisioned Prometheus datasource', () => {
    expect(dashboard['uid']).toMatch(/^antibody-[a-z-]+$/);
    expect(typeof dashboard['title']).toBe('string');
    expect(panels.length).toBeGreaterThan(3);
    for (const panel of panels) {
      expect(panel['datasource']).toEqual({ type: 'prometheus', uid: 'prometheus' });
      expect(panel['gridPos']).toMatchObject({ h: expect.any(Number), w: expect.any(Number), x: expect.any(Number), y: expect.any(Number) });
      expect((panel['targets'] as Doc[]).length).toBeGreaterThan(0);
    }
    expect(new Set(panels.map((p) => p['id'])).size).toBe(panels.length);
  });

  it('queries only metrics (and labels) the services register', () => {
    const problems = panels.flatMap((panel) => (panel['targets'] as Doc[]).flatMap((t) => checkExpression(t['expr'] as string, metrics).map((p) => `${panel['title']}: ${p}`)));
    const variables = ((dashboard['templating'] as Doc)['list'] as Doc[]).flatMap((v) => checkExpression(String(v['definition']).replace(/^label_values\((.*), *\w+\)$/, '$1'), metrics));
    expect([...problems, ...variables]).toEqual([]);
  });
});

describe('the dashboards together', () => {
  it('cover the loop, each service and the canary, with unique uids', () => {
    const uids = dashboardFiles.map((f) => (JSON.parse(readFileSync(join(DASHBOARDS, f), 'utf8')) as Doc)['uid']);
    expect(uids.sort()).toEqual(['antibody-canary', 'antibody-loop', 'antibody-service']);
  });
});

describe('Prometheus alert rules (infra/prometheus/alerts.yml)', () => {
  const doc = parse(readFileSync(ALERTS, 'utf8')) as Doc;
  const rules = (doc['groups'] as Doc[]).flatMap((g) => g['rules'] as Doc[]);

  it('parse as YAML with the fields Prometheus requires', () => {
    expect(Array.isArray(doc['groups'])).toBe(true);
    const groupNames = (doc['groups'] as Doc[]).map((g) => g['name']);
    expect(new Set(groupNames).size).toBe(groupNames.length);
    for (const group of doc['groups'] as Doc[]) {
      expect(Object.keys(group).sort()).toEqual(['name', 'rules']);
      expect(group['rules'].length).toBeGreaterThan(0);
    }
    for (const rule of rules) {
      expect(Object.keys(rule).every((k) => ['alert', 'expr', 'for', 'keep_firing_for', 'labels', 'annotations'].includes(k))).toBe(true);
      expect(rule['alert']).toMatch(/^Antibody[A-Z][A-Za-z]+$/);
      expect(typeof rule['expr']).toBe('string');
      if (rule['for'] !== undefined) expect(rule['for']).toMatch(/^(\d+(ms|s|m|h|d|w|y))+$/);
      expect(['critical', 'warning', 'info']).toContain(rule['labels']?.['severity']);
      expect(typeof rule['annotations']?.['summary']).toBe('string');
      expect(typeof rule['annotations']?.['description']).toBe('string');
    }
    expect(new Set(rules.map((r) => r['alert'])).size).toBe(rules.length);
  });

  it('query only metrics (and labels) the services register', () => {
    expect(rules.flatMap((r) => checkExpression(r['expr'] as string, metrics).map((p) => `${r['alert']}: ${p}`))).toEqual([]);
  });

  it('watch consumer lag, dead letters, escalations and budget spend', () => {
    const exprs = rules.map((r) => r['expr'] as string).join('\n');
    for (const metric of ['antibody_bus_consumer_pending_messages', 'antibody_bus_dead_letters_total', 'antibody_incidents_escalated_total', 'antibody_llm_spend_usd_total', 'antibody_relay_lag_seconds']) {
      expect(exprs).toContain(metric);
    }
    expect(exprs).toMatch(/antibody_incidents_escalated_total\{budget!="none"\}/);
  });

  const promtool = spawnSync('promtool', ['--version'], { encoding: 'utf8' }).status === 0;
  (promtool ? it : it.skip)('pass `promtool check rules` and `promtool check config`', () => {
    const rulesCheck = spawnSync('promtool', ['check', 'rules', ALERTS], { encoding: 'utf8' });
    expect(rulesCheck.stderr + rulesCheck.stdout).toContain('SUCCESS');
    expect(rulesCheck.status).toBe(0);
    // --syntax-only: the rule file is named at its path in the container.
    const config = spawnSync('promtool', ['check', 'config', '--syntax-only', PROMETHEUS], { encoding: 'utf8' });
    expect(config.stdout + config.stderr).toContain('SUCCESS');
    expect(config.status).toBe(0);
  });

  (promtool ? it : it.skip)("parse every dashboard query with promtool's PromQL parser (as recording rules)", () => {
    const exprs = dashboardFiles.flatMap((file) =>
      ((JSON.parse(readFileSync(join(DASHBOARDS, file), 'utf8')) as Doc)['panels'] as Doc[]).flatMap((p) => ((p['targets'] ?? []) as Doc[]).map((t) => String(t['expr']).replace(/\$service/g, 'antibody-ingest'))),
    );
    const dir = mkdtempSync(join(tmpdir(), 'antibody-promql-'));
    try {
      const file = join(dir, 'dashboards.rules.yml');
      writeFileSync(file, stringify({ groups: [{ name: 'dashboards', rules: exprs.map((expr, i) => ({ record: `antibody:dashboard_query_${i}`, expr })) }] }));
      const check = spawnSync('promtool', ['check', 'rules', file], { encoding: 'utf8' });
      expect(check.stdout + check.stderr).toContain(`SUCCESS: ${exprs.length} rules found`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('provisioning in docker-compose.yml', () => {
  const services = compose['services'] as Record<string, Doc>;
  const mounts = (name: string): Map<string, string> =>
    new Map(((services[name]?.['volumes'] ?? []) as string[]).filter((v) => v.startsWith('./')).map((v) => [v.split(':')[1] as string, v.split(':')[0] as string]));

  it('runs Prometheus with the config and the alert rules from infra/prometheus', () => {
    const prometheus = services['prometheus'] as Doc;
    expect(prometheus['image']).toMatch(/^prom\/prometheus:v\d/);
    const volumes = mounts('prometheus');
    expect(volumes.get('/etc/prometheus/prometheus.yml')).toBe('./infra/prometheus/prometheus.yml');
    expect(volumes.get('/etc/prometheus/alerts.yml')).toBe('./infra/prometheus/alerts.yml');
    const config = parse(readFileSync(PROMETHEUS, 'utf8')) as Doc;
    expect(config['rule_files']).toEqual(['/etc/prometheus/alerts.yml']);
  });

  it('scrapes /metrics of every instance of each service, on the port compose gives it', () => {
    const config = parse(readFileSync(PROMETHEUS, 'utf8')) as Doc;
    const job = (config['scrape_configs'] as Doc[]).find((j) => j['job_name'] === 'antibody') as Doc;
    expect(job['metrics_path']).toBe('/metrics');
    expect(job['honor_labels']).toBe(true);
    const targets = new Map((job['dns_sd_configs'] as Doc[]).map((c) => [(c['names'] as string[])[0], c['port'] as number]));
    for (const name of SERVICES) expect(String(targets.get(name))).toBe(services[name]?.['environment']?.['PORT']);
  });

  it('runs Grafana with the Prometheus datasource (uid prometheus) and the dashboards from infra/grafana', () => {
    const grafana = services['grafana'] as Doc;
    expect(grafana['image']).toMatch(/^grafana\/grafana:\d/);
    const volumes = mounts('grafana');
    expect(volumes.get('/etc/grafana/provisioning')).toBe('./infra/grafana/provisioning');
    const dashboardsAt = [...volumes].find(([, source]) => source === './infra/grafana/dashboards')?.[0];
    const datasources = parse(readFileSync(join(ROOT, 'infra/grafana/provisioning/datasources/prometheus.yml'), 'utf8')) as Doc;
    expect(datasources['datasources']).toEqual([expect.objectContaining({ uid: 'prometheus', type: 'prometheus', url: 'http://prometheus:9090' })]);
    const providers = parse(readFileSync(join(ROOT, 'infra/grafana/provisioning/dashboards/antibody.yml'), 'utf8')) as Doc;
    expect(providers['providers'][0]['options']['path']).toBe(dashboardsAt);
    expect(grafana['environment']['GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH']).toBe(`${dashboardsAt}/loop.json`);
  });
});
