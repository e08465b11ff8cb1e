import { randomBytes, randomUUID } from 'node:crypto';
import type { INestApplication } from '@nestjs/common';
import { createPlatformApp, loadConfig, baseServiceConfigSchema } from '@antibody/platform';
import type { EventStore, StoredEvent } from '@antibody/event-store';
import { createTestStore, freePort, testMetadata, waitFor, type TestStore } from '@antibody/testing';
import { DEFAULT_INGEST_SETTINGS, type IngestSettings } from '../src/infrastructure/config';
import { IngestModule } from '../src/infrastructure/ingest.module';
import { hashKey } from '../src/infrastructure/registry';

/** An in-process antibody-ingest on a fresh schema. */
export interface TestIngest {
  readonly t: TestStore;
  readonly app: INestApplication;
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
}

/** Starts ingest (in this process, store-log transport) on a fresh schema of the test database. */
export async function startIngest(settings: Partial<IngestSettings> = {}, existing?: TestStore): Promise<TestIngest> {
  const t = existing ?? (await createTestStore('ingest'));
  const port = await freePort();
  const config = loadConfig(
    baseServiceConfigSchema,
    { DATABASE_URL: t.databaseUrl, PORT: String(port), ANTIBODY_SCHEMA: t.schema, LOG_LEVEL: 'warn', SERVICE_INSTANCE_ID: `test-${port}` },
    'ingest',
  );
  const app = await createPlatformApp(IngestModule.forRoot({ service: 'ingest', config, nats: null }, { ...DEFAULT_INGEST_SETTINGS, ...settings }));
  await app.listen(port, '127.0.0.1');
  return {
    t,
    app,
    port,
    url: `http://127.0.0.1:${port}`,
    stop: async () => {
      await app.close();
    },
  };
}

/** Registers a service and an ingest key for it through events; resolves once ingest knows the key. */
export async function registerService(
  store: EventStore,
  pool: import('pg').Pool,
  schema: string,
  options: { name?: string; repository?: string; sourceMaps?: string; rateLimitPerMinute?: number } = {},
): Promise<{ name: string; key: string; keyId: string }> {
  const name = options.name ?? `svc-${randomBytes(3).toString('hex')}`;
  const key = randomBytes(16).toString('hex');
  const keyId = randomUUID();
  await store.appendToStream(`service-${name}`, [
    {
      type: 'ServiceRegistered',
      data: {
        name,
        repository: { url: options.repository ?? '/tmp/nowhere', defaultBranch: 'main' },
        commands: { test: 'npm test' },
        language: 'typescript',
        ...(options.sourceMaps ? { sourceMaps: options.sourceMaps } : {}),
        deploy: { adapter: 'none', settings: {} },
        policy: { autoDeploy: false, allowedPaths: ['src/**'], forbiddenPaths: [], budgets: { perIncidentUsd: 1, dailyUsd: 10, monthlyUsd: 100 } },
      },
      metadata: testMetadata({ correlationId: name }),
    },
    {
      type: 'IngestKeyCreated',
      data: { keyId, project: name, hash: hashKey(key), label: 'test', ...(options.rateLimitPerMinute ? { rateLimitPerMinute: options.rateLimitPerMinute } : {}) },
      metadata: testMetadata({ correlationId: name }),
    },
  ]);
  await waitFor(async () => (await pool.query(`SELECT 1 FROM "${schema}".ingest_keys WHERE key_id = $1`, [keyId]).catch(() => ({ rowCount: 0 }))).rowCount === 1, {
    timeoutMs: 15_000,
    description: `ingest to project the key of ${name}`,
  });
  return { name, key, keyId };
}

/** Every incident stream's events for `service`, keyed by incident id. */
export async function incidentsOf(store: EventStore, pool: import('pg').Pool, schema: string, service: string): Promise<Map<string, readonly StoredEvent[]>> {
  const rows = await pool.query<{ incident_id: string }>(`SELECT incident_id FROM "${schema}".ingest_fingerprints WHERE service = $1`, [service]);
  const out = new Map<string, readonly StoredEvent[]>();
  for (const row of rows.rows) out.set(row.incident_id, (await store.readStream(`incident-${row.incident_id}`)).events);
  return out;
}

/** Waits until every accepted intake row of the schema is processed. */
export async function drained(pool: import('pg').Pool, schema: string, timeoutMs = 20_000): Promise<void> {
  await waitFor(async () => Number((await pool.query(`SELECT count(*) AS n FROM "${schema}".ingest_intake WHERE processed_at IS NULL`)).rows[0].n) === 0, {
    timeoutMs,
    description: 'the intake to be processed',
  });
}

/** A Sentry envelope from JSON parts (header, then item header / payload pairs). */
export function envelope(header: object, ...items: Array<[object, object | string | Buffer]>): Buffer {
  const parts: Buffer[] = [Buffer.from(`${JSON.stringify(header)}\n`)];
  for (const [itemHeader, payload] of items) {
    const body = Buffer.isBuffer(payload) ? payload : Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload));
    parts.push(Buffer.from(`${JSON.stringify(itemHeader)}\n`), body, Buffer.from('\n'));
  }
  return Buffer.concat(parts);
}

/** A Sentry event payload with a stack in Sentry's frame shape. */
export function sentryEvent(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    event_id: randomUUID().replace(/-/g, ''),
    platform: 'node',
    release: 'shop@1.0.0',
    environment: 'production',
    exception: {
      values: [
        {
          type: 'TypeError',
          value: "Cannot read properties of undefined (reading 'price')",
          stacktrace: {
            frames: [
              { filename: '/app/node_modules/express/lib/router.js', function: 'handle', lineno: 10, colno: 3, in_app: false },
              { filename: '/app/src/cart.js', function: 'total', lineno: 42, colno: 17, in_app: true, context_line: '  return items.reduce((s, i) => s + i.product.price, 0);' },
            ],
          },
        },
      ],
    },
    ...overrides,
  };
}
