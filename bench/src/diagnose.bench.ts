// `npm run bench -- diagnose`: diagnosis and template patching on the buggy-snippet corpus.
//
// template_hit_rate: share of corpus cases (services/patcher/test/corpus) for which a template
//   candidate makes the case's own tests pass (candidates are tried in rank order, as the
//   validator would). Same-run baseline: the share fixed by the rank-1 candidate alone.
// incident_to_patch_median_ms: for every case a template fixes, the time from IncidentOpened to
//   the first PatchProposed as recorded by the store, with antibody-analyzer and antibody-patcher
//   running in this process on real Postgres (store-log transport). The repository is committed
//   once before timing (no checkout is timed; the services read files with `git show`).
//   Same-run baseline: the in-process pipeline on the same cases (fix-kit analysis + templates,
//   no events, no bus) — the ratio is the cost of going through the event store and consumers.
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { INestApplication } from '@nestjs/common';
import { createPlatformApp, loadConfig } from '@antibody/platform';
import { createTestStore, discoverInfrastructure, testMetadata, waitFor } from '@antibody/testing';
import { diagnoseAndPropose, framesOf, loadCorpus, mapLimit, runCase, type CorpusCase } from '@antibody/fix-kit/testing';
import { createTempRepo } from '@antibody/fix-io/testing';
import { AnalyzerModule } from '@antibody/analyzer/dist/infrastructure/analyzer.module';
import { analyzerConfigSchema } from '@antibody/analyzer/dist/infrastructure/config';
import { PatcherModule } from '@antibody/patcher/dist/infrastructure/patcher.module';
import { patcherConfigSchema } from '@antibody/patcher/dist/infrastructure/config';
import { median, percentile, report, type Figure } from './harness';

const CORPUS = join(__dirname, '..', '..', 'services', 'patcher', 'test', 'corpus');

export async function main(): Promise<void> {
  const corpus = loadCorpus(CORPUS);

  // 1. Hit rate: every case's own tests, before and after each candidate.
  const outcomes = await mapLimit(corpus, 2, runCase);
  const hits = outcomes.filter((o) => o.fixedAtRank !== undefined);
  const top1 = outcomes.filter((o) => o.fixedAtRank === 1);
  const fixable = corpus.filter((c) => hits.some((h) => h.name === c.name));

  // 2. Baseline latency: the same analysis and templates in-process.
  const inProcess: number[] = [];
  for (let round = 0; round < 3; round++) {
    for (const c of fixable) {
      const start = performance.now();
      await diagnoseAndPropose(c);
      inProcess.push(performance.now() - start);
    }
  }

  // 3. Incident -> PatchProposed through the services and the store.
  const infrastructure = await discoverInfrastructure(() => undefined);
  process.env['DATABASE_URL'] = infrastructure.databaseUrl;
  const t = await createTestStore('benchdiag');
  const repo = createTempRepo();
  const apps: INestApplication[] = [];
  const latencies: number[] = [];
  const toDiagnosis: number[] = [];
  try {
    // One repository holding every case under cases/<name>/ at one commit.
    const files: Record<string, string> = {};
    for (const c of fixable) for (const f of listFiles(c)) files[`cases/${c.name}/${f}`] = readFileSync(join(c.dir, f), 'utf8');
    const commit = repo.commit(files, 'corpus');
    const env = { DATABASE_URL: t.databaseUrl, ANTIBODY_SCHEMA: t.schema, LOG_LEVEL: 'warn', SERVICE_INSTANCE_ID: 'bench' };
    const analyzer = await createPlatformApp(AnalyzerModule.forRoot({ service: 'analyzer', config: loadConfig(analyzerConfigSchema, { ...env, PORT: '4101' }, 'analyzer'), nats: null }));
    await analyzer.init();
    apps.push(analyzer);
    const patcher = await createPlatformApp(PatcherModule.forRoot({ service: 'patcher', config: loadConfig(patcherConfigSchema, { ...env, PORT: '4102' }, 'patcher'), nats: null }));
    await patcher.init();
    apps.push(patcher);

    for (const c of fixable) {
      const service = `bench-${c.name}`.slice(0, 90);
      const policy = { autoDeploy: false, allowedPaths: [`cases/${c.name}/src/**`], forbiddenPaths: c.policy.forbiddenPaths.map((g) => `cases/${c.name}/${g}`), budgets: { perIncidentUsd: 0, dailyUsd: 0, monthlyUsd: 0 } };
      await t.store.appendToStream(`service-${service}`, [
        { type: 'ServiceRegistered', data: { name: service, repository: { url: repo.dir, defaultBranch: 'main' }, commands: { test: 'node --test' }, language: 'typescript', deploy: { adapter: 'none', settings: {} }, policy }, metadata: testMetadata() },
      ]);
    }
    for (const c of fixable) {
      const service = `bench-${c.name}`.slice(0, 90);
      const incidentId = randomUUID();
      const streamId = `incident-${incidentId}`;
      const metadata = testMetadata({ correlationId: incidentId });
      const now = new Date().toISOString();
      const frames = framesOf(c).map((f) => ({ ...f, filename: `/srv/app/cases/${c.name}/${relative('/srv/app', f.filename)}` }));
      await t.store.appendToStream(streamId, [
        { type: 'IncidentOpened', data: { incidentId, service, fingerprint: incidentId.replace(/-/g, ''), exception: { type: c.error.type, value: c.error.message }, release: commit, firstSeen: now }, metadata },
        { type: 'ErrorRecorded', data: { exception: { type: c.error.type, value: c.error.message }, frames, tags: {}, release: commit, receivedAt: now }, metadata },
      ]);
      await waitFor(async () => (await t.store.readStream(streamId)).events.some((e) => e.type === 'PatchProposed' || e.type === 'PatchFailed'), { timeoutMs: 30_000, description: `patch for ${c.name}` });
      const events = (await t.store.readStream(streamId)).events;
      const opened = events.find((e) => e.type === 'IncidentOpened')!;
      const proposed = events.find((e) => e.type === 'PatchProposed');
      const diagnosed = events.find((e) => e.type === 'DiagnosisMade');
      if (proposed) latencies.push(Date.parse(proposed.recordedAt) - Date.parse(opened.recordedAt));
      if (diagnosed) toDiagnosis.push(Date.parse(diagnosed.recordedAt) - Date.parse(opened.recordedAt));
    }
  } finally {
    for (const app of apps.reverse()) await app.close();
    repo.remove();
    await t.cleanup();
  }

  const e2e = median(latencies);
  const base = median(inProcess);
  const metrics: Record<string, Figure> = {
    template_hit_rate: { value: hits.length / corpus.length, unit: 'ratio', goal: '>= 0.8', note: `${hits.length}/${corpus.length} cases; baseline rank-1 only: ${(top1.length / corpus.length).toFixed(3)} (ratio ${(hits.length / Math.max(1, top1.length)).toFixed(2)})` },
    top1_hit_rate: { value: top1.length / corpus.length, unit: 'ratio', note: 'baseline: the first-ranked candidate alone' },
    incident_to_patch_median_ms: { value: e2e, unit: 'ms', goal: '<= 500', note: `p90 ${percentile(latencies, 90).toFixed(0)} ms over ${latencies.length} incidents; baseline in-process ${base.toFixed(1)} ms (ratio ${(e2e / Math.max(base, 0.001)).toFixed(1)}x)` },
    incident_to_diagnosis_median_ms: { value: median(toDiagnosis), unit: 'ms', note: 'IncidentOpened -> DiagnosisMade (the analyzer leg)' },
    in_process_diagnose_patch_median_ms: { value: base, unit: 'ms', note: 'baseline: fix-kit analysis + templates, no store or bus' },
  };
  report('diagnose', metrics, {
    corpus: outcomes.map((o) => ({ name: o.name, expect: o.expect, rule: o.ruleId, fixedAtRank: o.fixedAtRank ?? null, fixedBy: o.fixedBy ?? null, candidates: o.candidates.length })),
  });
}

function listFiles(c: CorpusCase): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(join(c.dir, dir), { withFileTypes: true })) {
      const rel = dir ? `${dir}/${e.name}` : e.name;
      if (e.isDirectory()) walk(rel);
      else out.push(rel);
    }
  };
  walk('');
  return out;
}
