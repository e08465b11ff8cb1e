import { randomUUID } from 'node:crypto';
import type { INestApplication } from '@nestjs/common';
import { createPlatformApp, loadConfig } from '@antibody/platform';
import type { EventStore, StoredEvent } from '@antibody/event-store';
import { analyseError } from '@antibody/fix-kit';
import { gitRepository } from '@antibody/fix-io';
import { testMetadata, waitFor, type TestStore } from '@antibody/testing';
import { patcherConfigSchema } from '../src/infrastructure/config';
import { PatcherModule } from '../src/infrastructure/patcher.module';

/** Starts antibody-patcher in this process (store-log transport) on the test store's schema. */
export async function startPatcher(t: TestStore, env: Record<string, string> = {}): Promise<INestApplication> {
  const config = loadConfig(patcherConfigSchema, { DATABASE_URL: t.databaseUrl, ANTIBODY_SCHEMA: t.schema, LOG_LEVEL: process.env['TEST_LOG_LEVEL'] ?? 'warn', PORT: '4102', SERVICE_INSTANCE_ID: 'test-patcher', ...env }, 'patcher');
  const app = await createPlatformApp(PatcherModule.forRoot({ service: 'patcher', config, nats: null }));
  await app.init();
  return app;
}

export interface Policy {
  autoDeploy: boolean;
  allowedPaths: string[];
  forbiddenPaths: string[];
  budgets: { perIncidentUsd: number; dailyUsd: number; monthlyUsd: number };
}

export const policy = (budgets: Partial<Policy['budgets']> = {}): Policy => ({
  autoDeploy: false,
  allowedPaths: ['src/**'],
  forbiddenPaths: [],
  budgets: { perIncidentUsd: 1, dailyUsd: 5, monthlyUsd: 50, ...budgets },
});

export async function registerService(store: EventStore, name: string, repository: string, p: Policy = policy()): Promise<void> {
  await store.appendToStream(`service-${name}`, [
    {
      type: 'ServiceRegistered',
      data: { name, repository: { url: repository, defaultBranch: 'main' }, commands: { test: 'node --test' }, language: 'javascript', deploy: { adapter: 'none', settings: {} }, policy: p },
      metadata: testMetadata(),
    },
  ]);
}

export interface IncidentInput {
  readonly service: string;
  readonly repo: string;
  readonly commit: string;
  readonly type: string;
  readonly message: string;
  /** Oldest first. */
  readonly frames: readonly { file: string; function: string; lineno: number }[];
}

/**
 * Appends an incident (IncidentOpened, ErrorRecorded) and the DiagnosisMade the analyzer would
 * append for it — computed with the same fix-kit analysis over the repository at the commit.
 */
export async function openDiagnosedIncident(store: EventStore, input: IncidentInput): Promise<string> {
  const incidentId = randomUUID();
  const streamId = `incident-${incidentId}`;
  const metadata = testMetadata({ correlationId: incidentId });
  const now = new Date().toISOString();
  const frames = input.frames.map((f) => ({ filename: `/srv/app/${f.file}`, function: f.function, lineno: f.lineno, inApp: true }));
  const repo = gitRepository(input.repo);
  const analysis = await analyseError({ errorType: input.type, message: input.message, frames, read: (p) => repo.readFile(input.commit, p) });
  const top = analysis.localisation.sites[0]!;
  const match = analysis.match;
  await store.appendToStream(streamId, [
    { type: 'IncidentOpened', data: { incidentId, service: input.service, fingerprint: incidentId.replace(/-/g, ''), exception: { type: input.type, value: input.message }, release: input.commit, firstSeen: now }, metadata },
    { type: 'ErrorRecorded', data: { exception: { type: input.type, value: input.message }, frames, tags: {}, release: input.commit, receivedAt: now }, metadata },
    {
      type: 'DiagnosisMade',
      data: {
        rootCause: match?.rootCause ?? 'unknown',
        location: { file: top.file, line: top.line },
        source: 'rule',
        ruleId: match?.rule.id ?? 'none',
        confidence: match?.rule.confidence ?? 0.5,
        errorClass: match?.rule.errorClass,
        commit: input.commit,
        captures: { ...(match?.captures ?? {}) },
        sites: analysis.localisation.sites.map((s) => ({ file: s.file, line: s.line, ...(s.suspect ? { suspect: s.suspect } : {}), weight: s.weight })),
      },
      metadata,
    },
  ]);
  return streamId;
}

export async function waitForEvent(store: EventStore, streamId: string, types: readonly string[], timeoutMs = 20_000): Promise<readonly StoredEvent[]> {
  await waitFor(async () => (await store.readStream(streamId)).events.some((e) => types.includes(e.type)), { timeoutMs, description: `${types.join('|')} on ${streamId}` });
  return (await store.readStream(streamId)).events;
}

/** The data of every event of a type in a stream. */
export function dataOf<T = Record<string, unknown>>(events: readonly StoredEvent[], type: string): T[] {
  return events.filter((e) => e.type === type).map((e) => e.data as T);
}
