export { createEventStore } from './store';
export type { AppendOptions, EventStore, EventStoreOptions, StoreVerification, StreamSummary } from './store';
export { migrateEventStore, dropEventStore, eventStoreMigrations } from './migrate';
export type { MigrateOptions } from './migrate';
export { subscribe, runProjection, resetProjection, compareCheckpoints, readCheckpoint, ensureCheckpoint, advanceCheckpoint } from './subscription';
export { Sleeper } from './sleeper';
export type { Subscription, SubscriptionOptions, Projection, StartFrom } from './subscription';
export { START } from './types';
export type {
  AppendResult,
  ChainBreach,
  Checkpoint,
  EventValidator,
  ExpectedVersion,
  NewEvent,
  ReadAllOptions,
  ReadAllResult,
  ReadStreamOptions,
  ReadStreamResult,
  StoredEvent,
  StreamVerification,
} from './types';
export {
  EventStoreError,
  WrongExpectedVersionError,
  InvalidEventError,
  EventIdReusedError,
  StreamNotFoundError,
  EventStoreConfigError,
} from './errors';
export { canonicalJson, contentHash, chainHash, GENESIS_HASH } from './hashing';
export type { HashedContent } from './hashing';
export { verifyChain, ChainVerifier } from './verify';
export { deterministicEventId, quoteSchema } from './identifiers';
