import { AckPolicy, DeliverPolicy, DiscardPolicy, RetentionPolicy, StorageType, type ConsumerConfig, type StreamConfig } from '@nats-io/jetstream';
import { nanos } from '@nats-io/nats-core';
import { eventCatalog, SUBJECT_PREFIX, subjectFor } from '@antibody/contracts';

/** The one JetStream stream every Antibody event is relayed to. */
export const STREAM_NAME = 'ANTIBODY';

export interface StreamDefinitionOptions {
  /** Subject prefix (default `antibody`); tests use their own to stay apart. */
  readonly subjectPrefix?: string;
  readonly name?: string;
  /** Messages older than this are dropped from NATS (the store keeps everything). Default 7 days. */
  readonly maxAgeMs?: number;
  /** Window in which a re-published event id is discarded as a duplicate. Default 10 minutes. */
  readonly duplicateWindowMs?: number;
  readonly storage?: 'file' | 'memory';
}

/**
 * The stream: file storage, limits retention, deduplication by `Nats-Msg-Id` (the event id).
 * NATS is a delivery channel, not the record: the store is, so a bounded max age is safe.
 */
export function streamDefinition(options: StreamDefinitionOptions = {}): Partial<StreamConfig> & { name: string; subjects: string[] } {
  const prefix = options.subjectPrefix ?? SUBJECT_PREFIX;
  return {
    name: options.name ?? STREAM_NAME,
    subjects: [`${prefix}.>`],
    storage: options.storage === 'memory' ? StorageType.Memory : StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    max_age: nanos(options.maxAgeMs ?? 7 * 24 * 3600 * 1000),
    duplicate_window: nanos(options.duplicateWindowMs ?? 10 * 60 * 1000),
    num_replicas: 1,
  };
}

/** Subject of an event type under a prefix: `<prefix>.<category>.<Type>`. */
export function subjectOf(type: string, category: string, prefix = SUBJECT_PREFIX): string {
  return prefix === SUBJECT_PREFIX ? subjectFor(category, type) : `${prefix}.${category}.${type}`;
}

/** Subjects that carry the given event types (all types when none are given). */
export function subjectsForTypes(types: readonly string[] | undefined, prefix = SUBJECT_PREFIX): string[] {
  if (!types || types.length === 0) return [`${prefix}.>`];
  return types.map((type) => `${prefix}.*.${type}`);
}

export interface ConsumerDefinitionOptions {
  readonly durable: string;
  readonly types?: readonly string[];
  readonly subjectPrefix?: string;
  readonly maxDeliver: number;
  readonly ackWaitMs: number;
  /** NATS before 2.10 has one filter subject per consumer: filter on the prefix and skip client-side. */
  readonly multipleFilters: boolean;
}

/**
 * A service's durable pull consumer: explicit acks, finite deliveries. It starts at "new"
 * because a consumer that wants history catches up from the store first (see the bus docs).
 */
export function consumerDefinition(options: ConsumerDefinitionOptions): Partial<ConsumerConfig> & { durable_name: string } {
  const subjects = subjectsForTypes(options.types, options.subjectPrefix);
  const filter =
    subjects.length === 1 ? { filter_subject: subjects[0] } : options.multipleFilters ? { filter_subjects: subjects } : { filter_subject: `${options.subjectPrefix ?? SUBJECT_PREFIX}.>` };
  return {
    durable_name: options.durable,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.New,
    max_deliver: options.maxDeliver + 1, // one spare delivery: the one on which we dead-letter and term
    ack_wait: nanos(options.ackWaitMs),
    max_ack_pending: 1000,
    ...filter,
  };
}

/** Every event type and its subject, for docs and infra/nats. */
export function catalogSubjects(prefix = SUBJECT_PREFIX): Array<{ type: string; subject: string }> {
  return eventCatalog.definitions.map((d) => ({ type: d.type, subject: subjectOf(d.type, d.category, prefix) }));
}
