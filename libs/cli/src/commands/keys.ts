import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { foldEvents } from '@antibody/contracts';
import { serviceFold, type IngestKeyState, type ServiceState } from '@antibody/domain';
import type { EventStore } from '@antibody/event-store';
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

/** The `service-<project>` stream folded by the service fold; a usage error unless the service is under care. */
async function serviceStream(store: EventStore, project: string): Promise<{ version: number; state: ServiceState }> {
  if (!PROJECT.test(project)) throw usageError(`--project must be a service name (letters, digits, ".", "_", "-"; got ${JSON.stringify(project)})`);
  const stream = await store.readStream(`service-${project}`);
  const state = foldEvents(serviceFold, stream.events);
  if (state.status !== 'registered') throw usageError(`service ${project} is not registered; register it before creating ingest keys`);
  return { version: stream.currentVersion, state };
}

/** A key as the CLI shows it: what the service fold says, without its hash. */
function keyView({ keyId, label, rateLimitPerMinute, createdAt, revokedAt }: IngestKeyState): IngestKeyView {
  return { keyId, ...(label ? { label } : {}), ...(rateLimitPerMinute ? { rateLimitPerMinute } : {}), createdAt, ...(revokedAt !== undefined ? { revokedAt } : {}) };
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
  const keys = stream.state.keys.map(keyView);
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
  const key = stream.state.keys.map(keyView).find((k) => k.keyId === options.keyId);
  if (!key) throw usageError(`no ingest key ${options.keyId} for ${options.project}; see \`antibody keys list --project ${options.project}\``);
  if (key.revokedAt) throw usageError(`ingest key ${options.keyId} was already revoked at ${key.revokedAt}`);
  await store.appendToStream(
    `service-${options.project}`,
    [{ type: 'IngestKeyRevoked', data: { keyId: options.keyId, project: options.project, ...(options.reason ? { reason: options.reason } : {}) }, metadata: metadata(options.project) }],
    { expectedVersion: stream.version },
  );
  out.line(`key ${options.keyId} revoked for ${options.project}; ingest refuses it within a second`);
}
