import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { EventStore, StoredEvent } from '@antibody/event-store';
import { usageError } from '../errors';
import type { Output } from '../output';

/** One ingest key as the `service-<project>` stream describes it (never the secret). */
export interface IngestKeyView {
  readonly keyId: string;
  readonly label?: string;
  readonly rateLimitPerMinute?: number;
  readonly createdAt: string;
  readonly revokedAt?: string;
}

const PROJECT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

function metadata(project: string) {
  return { correlationId: `service-${project}`, causationId: null, producer: { service: 'cli', instance: `${hostname()}-${process.pid}` }, occurredAt: new Date().toISOString() };
}

async function serviceStream(store: EventStore, project: string): Promise<{ version: number; events: readonly StoredEvent[] }> {
  if (!PROJECT.test(project)) throw usageError(`--project must be a service name (letters, digits, ".", "_", "-"; got ${JSON.stringify(project)})`);
  const stream = await store.readStream(`service-${project}`);
  const registered = stream.events.some((e) => e.type === 'ServiceRegistered');
  const deregistered = stream.events.length > 0 && stream.events[stream.events.length - 1]?.type === 'ServiceDeregistered';
  if (!registered || deregistered) throw usageError(`service ${project} is not registered; register it before creating ingest keys`);
  return { version: stream.currentVersion, events: stream.events };
}

/** Folds a service stream into its keys, oldest first. */
export function keysOf(events: readonly StoredEvent[]): IngestKeyView[] {
  const keys = new Map<string, IngestKeyView>();
  for (const event of events) {
    const data = event.data as { keyId: string; label?: string; rateLimitPerMinute?: number };
    if (event.type === 'IngestKeyCreated') {
      keys.set(data.keyId, {
        keyId: data.keyId,
        ...(data.label ? { label: data.label } : {}),
        ...(data.rateLimitPerMinute ? { rateLimitPerMinute: data.rateLimitPerMinute } : {}),
        createdAt: event.metadata.occurredAt,
      });
    } else if (event.type === 'IngestKeyRevoked') {
      const key = keys.get(data.keyId);
      if (key) keys.set(data.keyId, { ...key, revokedAt: event.metadata.occurredAt });
    }
  }
  return [...keys.values()];
}

/**
 * `antibody keys create`: appends IngestKeyCreated (with the key's SHA-256, never the key) to
 * `service-<project>` and prints the key once. Usage error (exit 2) when the service is unknown.
 */
export async function createKey(store: EventStore, options: { project: string; label?: string; rateLimit?: number; json?: boolean }, out: Output): Promise<void> {
  const stream = await serviceStream(store, options.project);
  // 32 hex characters: Sentry SDKs accept only word characters in a DSN's public key.
  const key = randomBytes(16).toString('hex');
  const keyId = randomUUID();
  await store.appendToStream(
    `service-${options.project}`,
    [
      {
        type: 'IngestKeyCreated',
        data: {
          keyId,
          project: options.project,
          hash: createHash('sha256').update(key).digest('hex'),
          ...(options.label ? { label: options.label } : {}),
          ...(options.rateLimit ? { rateLimitPerMinute: options.rateLimit } : {}),
        },
        metadata: metadata(options.project),
      },
    ],
    { expectedVersion: stream.version },
  );
  if (options.json) {
    out.line(JSON.stringify({ keyId, key, project: options.project }));
    return;
  }
  out.line(`key ${keyId} created for ${options.project}`);
  out.line(`  key: ${key}  (shown once; only its SHA-256 is stored)`);
  out.line(`  Sentry DSN: http://${key}@<ingest-host>:4100/1`);
  out.line(`  OTLP / native API header: Authorization: Bearer ${key}`);
}

/** `antibody keys list`: the project's keys (ids, labels, limits, revocations), never secrets. */
export async function listKeys(store: EventStore, options: { project: string; json?: boolean }, out: Output): Promise<void> {
  const stream = await serviceStream(store, options.project);
  const keys = keysOf(stream.events);
  if (options.json) {
    out.line(JSON.stringify(keys, null, 2));
    return;
  }
  if (keys.length === 0) {
    out.line(`no ingest keys for ${options.project}; create one with \`antibody keys create --project ${options.project}\``);
    return;
  }
  for (const key of keys) {
    const parts = [key.keyId, key.revokedAt ? `revoked ${key.revokedAt}` : 'active', `created ${key.createdAt}`];
    if (key.label) parts.push(`label ${JSON.stringify(key.label)}`);
    if (key.rateLimitPerMinute) parts.push(`${key.rateLimitPerMinute}/min`);
    out.line(parts.join('  '));
  }
}

/** `antibody keys revoke`: appends IngestKeyRevoked. Usage error for an unknown or already revoked key. */
export async function revokeKey(store: EventStore, options: { project: string; keyId: string; reason?: string }, out: Output): Promise<void> {
  const stream = await serviceStream(store, options.project);
  const key = keysOf(stream.events).find((k) => k.keyId === options.keyId);
  if (!key) throw usageError(`no ingest key ${options.keyId} for ${options.project}; see \`antibody keys list --project ${options.project}\``);
  if (key.revokedAt) throw usageError(`ingest key ${options.keyId} was already revoked at ${key.revokedAt}`);
  await store.appendToStream(
    `service-${options.project}`,
    [{ type: 'IngestKeyRevoked', data: { keyId: options.keyId, project: options.project, ...(options.reason ? { reason: options.reason } : {}) }, metadata: metadata(options.project) }],
    { expectedVersion: stream.version },
  );
  out.line(`key ${options.keyId} revoked for ${options.project}; ingest refuses it within a second`);
}
