import { randomUUID } from 'node:crypto';
import type { INestApplication } from '@nestjs/common';
import { createPlatformApp, loadConfig } from '@antibody/platform';
import type { EventStore, StoredEvent } from '@antibody/event-store';
import { testMetadata, waitFor, type TestStore } from '@antibody/testing';
import { analyzerConfigSchema } from '../src/infrastructure/config';
import { AnalyzerModule } from '../src/infrastructure/analyzer.module';

/** Starts antibody-analyzer in this process (store-log transport) on the test store's schema. */
export async function startAnalyzer(t: TestStore, env: Record<string, string> = {}): Promise<INestApplication> {
  const config = loadConfig(analyzerConfigSchema, { DATABASE_URL: t.databaseUrl, ANTIBODY_SCHEMA: t.schema, LOG_LEVEL: 'warn', PORT: '4101', SERVICE_INSTANCE_ID: 'test-analyzer', ...env }, 'analyzer');
  const app = await createPlatformApp(AnalyzerModule.forRoot({ service: 'analyzer', config, nats: null }));
  await app.init();
  return app;
}

export const DEFAULT_POLICY = {
  autoDeploy: false,
  allowedPaths: ['src/**'],
  forbiddenPaths: ['src/secrets/**'],
  budgets: { perIncidentUsd: 1, dailyUsd: 5, monthlyUsd: 50 },
};

/** Appends ServiceRegistered for a service whose code is in `repository`. */
export async function registerService(store: EventStore, name: string, repository: string, policy = DEFAULT_POLICY): Promise<void> {
  await store.appendToStream(`service-${name}`, [
    {
      type: 'ServiceRegistered',
      data: { name, repository: { url: repository, defaultBranch: 'main' }, commands: { test: 'node --test' }, language: 'typescript', deploy: { adapter: 'none', settings: {} }, policy },
      metadata: testMetadata(),
    },
  ]);
}

/** Appends IncidentOpened + ErrorRecorded for an error; returns the incident stream id. */
export async function openIncident(
  store: EventStore,
  input: { service: string; release?: string; type: string; message: string; frames: { filename: string; function?: string; lineno: number; colno?: number; contextLine?: string; preContext?: string[]; postContext?: string[] }[]; samples?: number },
): Promise<string> {
  const incidentId = randomUUID();
  const streamId = `incident-${incidentId}`;
  const metadata = testMetadata({ correlationId: incidentId });
  const now = new Date().toISOString();
  const sample = {
    type: 'ErrorRecorded',
    data: { exception: { type: input.type, value: input.message }, frames: input.frames.map((f) => ({ ...f, inApp: true })), tags: {}, ...(input.release ? { release: input.release } : {}), receivedAt: now },
    metadata,
  };
  await store.appendToStream(streamId, [
    {
      type: 'IncidentOpened',
      data: { incidentId, service: input.service, fingerprint: randomUUID().replace(/-/g, ''), exception: { type: input.type, value: input.message }, ...(input.release ? { release: input.release } : {}), firstSeen: now },
      metadata,
    },
    ...Array.from({ length: input.samples ?? 1 }, () => sample),
  ]);
  return streamId;
}

/** Waits until the stream holds an event of one of `types`; returns the stream's events. */
export async function waitForEvent(store: EventStore, streamId: string, types: readonly string[], timeoutMs = 20_000): Promise<readonly StoredEvent[]> {
  await waitFor(async () => (await store.readStream(streamId)).events.some((e) => types.includes(e.type)), { timeoutMs, description: `${types.join('|')} on ${streamId}` });
  return (await store.readStream(streamId)).events;
}
