import { createHash } from 'node:crypto';
import type { RecordedEvent } from '@antibody/contracts';
import { quoteSchema, subscribe, type EventStore, type Subscription } from '@antibody/event-store';
import type { Pool, PoolClient } from 'pg';
import type { ScrubbingConfig } from '../domain/scrub';

/** An ingest key as ingest knows it (the secret itself is never stored: only its SHA-256). */
export interface KnownKey {
  readonly keyId: string;
  readonly project: string;
  readonly rateLimitPerMinute?: number;
  readonly revoked: boolean;
}

/** A registered service as ingest needs it. */
export interface KnownService {
  readonly name: string;
  readonly repository: string;
  readonly sourceMaps?: string;
  readonly scrubbing?: ScrubbingConfig;
  readonly deregistered: boolean;
}

/** Bound of the secret → hash memo of {@link Registry}. */
const MAX_KNOWN_HASHES = 10_000;

/** SHA-256 (hex) of an ingest key, as IngestKeyCreated stores it. */
export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

const PROJECTED_TYPES = ['ServiceRegistered', 'ServiceUpdated', 'ServiceDeregistered', 'IngestKeyCreated', 'IngestKeyRevoked', 'IncidentResolved'] as const;

/**
 * Projects the events ingest depends on into its tables, from the store's global log with the
 * checkpoint committed in the same transaction (one active instance at a time; replay-safe since
 * every write is an idempotent upsert):
 * services and keys (`service-<name>` streams), and resolved incidents (so a fingerprint seen again
 * reopens its incident).
 */
export function startRegistryProjection(store: EventStore, schema: string, onError: (error: unknown) => void): Subscription {
  const s = quoteSchema(schema);
  return subscribe(
    store,
    'ingest-registry',
    async (events: readonly RecordedEvent[], client: PoolClient) => {
      for (const event of events) await project(client, s, event);
    },
    { types: PROJECTED_TYPES, pollIntervalMs: 200, onError },
  );
}

async function project(client: PoolClient, s: string, event: RecordedEvent): Promise<void> {
  switch (event.type) {
    case 'ServiceRegistered': {
      const { name, repository, sourceMaps, scrubbing } = event.data;
      await client.query(
        `INSERT INTO ${s}.ingest_services (name, repository, source_maps, scrubbing, deregistered) VALUES ($1, $2, $3, $4, false)
         ON CONFLICT (name) DO UPDATE SET repository = EXCLUDED.repository, source_maps = EXCLUDED.source_maps, scrubbing = EXCLUDED.scrubbing, deregistered = false`,
        [name, repository.url, sourceMaps ?? null, scrubbing === undefined ? null : JSON.stringify(scrubbing)],
      );
      return;
    }
    case 'ServiceUpdated': {
      // The whole registration was replaced; whether the service is under care did not change (serviceFold).
      const { name, repository, sourceMaps, scrubbing } = event.data.registration;
      await client.query(`UPDATE ${s}.ingest_services SET repository = $2, source_maps = $3, scrubbing = $4 WHERE name = $1`, [
        name,
        repository.url,
        sourceMaps ?? null,
        scrubbing === undefined ? null : JSON.stringify(scrubbing),
      ]);
      return;
    }
    case 'ServiceDeregistered':
      await client.query(`UPDATE ${s}.ingest_services SET deregistered = true WHERE name = $1`, [event.data.name]);
      return;
    case 'IngestKeyCreated': {
      const { hash, keyId, project, label, rateLimitPerMinute } = event.data;
      await client.query(
        `INSERT INTO ${s}.ingest_keys (hash, key_id, project, label, rate_limit_per_minute, revoked) VALUES ($1, $2, $3, $4, $5, false)
         ON CONFLICT (hash) DO NOTHING`,
        [hash, keyId, project, label ?? null, rateLimitPerMinute ?? null],
      );
      return;
    }
    case 'IngestKeyRevoked':
      await client.query(`UPDATE ${s}.ingest_keys SET revoked = true WHERE key_id = $1`, [event.data.keyId]);
      return;
    case 'IncidentResolved': {
      const incidentId = event.streamId.replace(/^incident-/, '');
      await client.query(`UPDATE ${s}.ingest_fingerprints SET status = 'resolved' WHERE incident_id::text = $1`, [incidentId]);
      return;
    }
    default:
      return;
  }
}

/**
 * In-memory view of keys and services, refreshed from the projection tables every second and on a
 * cache miss (at most every 200 ms), so authentication costs no query per request and keeps working
 * from memory while Postgres is briefly unreachable.
 */
export class Registry {
  private keys = new Map<string, KnownKey>();
  /** Presented secret → its hash, for keys found (see rememberHash). */
  private readonly knownHashes = new Map<string, string>();
  private services = new Map<string, KnownService>();
  private loading: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly s: string;

  constructor(
    private readonly pool: Pool,
    schema: string,
    private readonly onError: (error: unknown) => void = () => undefined,
  ) {
    this.s = quoteSchema(schema);
  }

  /** Loads once, then refreshes every `intervalMs`. */
  async start(intervalMs = 1000): Promise<void> {
    await this.refresh().catch(this.onError);
    this.timer = setInterval(() => void this.refresh().catch(this.onError), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /**
   * The key with this secret, or undefined when unknown. Known keys are answered from memory; a miss
   * is looked up in Postgres. Throws when the key is not in memory and Postgres cannot be read.
   */
  async key(secret: string): Promise<KnownKey | undefined> {
    const hash = this.knownHashes.get(secret) ?? hashKey(secret);
    const known = this.keys.get(hash);
    if (known) {
      this.rememberHash(secret, hash);
      return known;
    }
    // A miss is looked up directly (primary key), so a key created a moment ago works at once.
    const found = await this.pool.query<{ key_id: string; project: string; rate_limit_per_minute: number | null; revoked: boolean }>(
      `SELECT key_id, project, rate_limit_per_minute, revoked FROM ${this.s}.ingest_keys WHERE hash = $1`,
      [hash],
    );
    const row = found.rows[0];
    if (!row) return undefined;
    const key: KnownKey = { keyId: row.key_id, project: row.project, revoked: row.revoked, ...(row.rate_limit_per_minute ? { rateLimitPerMinute: row.rate_limit_per_minute } : {}) };
    this.keys.set(hash, key);
    this.rememberHash(secret, hash);
    if (!this.services.has(key.project)) await this.refresh();
    return key;
  }

  /**
   * Every intake request presents its key: the SHA-256 of a known one is kept (a few µs per request
   * at thousands per second). Only known keys are kept, and at most MAX_KNOWN_HASHES, so requests
   * with made-up keys cannot grow it. Revocation still applies at once: the key itself is looked up
   * by its hash on every request.
   */
  private rememberHash(secret: string, hash: string): void {
    if (this.knownHashes.has(secret)) return;
    if (this.knownHashes.size >= MAX_KNOWN_HASHES) this.knownHashes.clear();
    this.knownHashes.set(secret, hash);
  }

  service(name: string): KnownService | undefined {
    return this.services.get(name);
  }

  /** Reloads keys and services (concurrent callers share one query). */
  refresh(): Promise<void> {
    this.loading ??= (async () => {
      try {
        const [keys, services] = await Promise.all([
          this.pool.query<{ hash: string; key_id: string; project: string; rate_limit_per_minute: number | null; revoked: boolean }>(
            `SELECT hash, key_id, project, rate_limit_per_minute, revoked FROM ${this.s}.ingest_keys`,
          ),
          this.pool.query<{ name: string; repository: string; source_maps: string | null; scrubbing: ScrubbingConfig | null; deregistered: boolean }>(
            `SELECT name, repository, source_maps, scrubbing, deregistered FROM ${this.s}.ingest_services`,
          ),
        ]);
        this.keys = new Map(
          keys.rows.map((row) => [
            row.hash,
            { keyId: row.key_id, project: row.project, revoked: row.revoked, ...(row.rate_limit_per_minute ? { rateLimitPerMinute: row.rate_limit_per_minute } : {}) },
          ]),
        );
        this.services = new Map(
          services.rows.map((row) => [
            row.name,
            {
              name: row.name,
              repository: row.repository,
              deregistered: row.deregistered,
              ...(row.source_maps ? { sourceMaps: row.source_maps } : {}),
              ...(row.scrubbing ? { scrubbing: row.scrubbing } : {}),
            },
          ]),
        );
      } finally {
        this.loading = undefined;
      }
    })();
    return this.loading;
  }
}
