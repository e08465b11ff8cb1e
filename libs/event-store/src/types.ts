import type { EventMetadata, RecordedEvent, StoredEvent } from '@antibody/contracts';

/** An event as stored; defined with the contracts, so that pure code can read it without the store. */
export type { StoredEvent } from '@antibody/contracts';

/** An event to append. `eventId` defaults to a random uuid; give a deterministic one in handlers. */
export interface NewEvent<Type extends string = string, Data = unknown> {
  readonly eventId?: string;
  readonly type: Type;
  /** Defaults to the catalog's current version of `type`. */
  readonly schemaVersion?: number;
  readonly data: Data;
  readonly metadata: EventMetadata;
}

/** `no-stream`: the stream must not exist. `any`: no check. A number: the stream's last version must be exactly it. */
export type ExpectedVersion = 'no-stream' | 'any' | number;

export interface AppendResult {
  readonly streamId: string;
  /** The stream's version after the append (pass it as the next expected version). */
  readonly nextExpectedVersion: number;
  /** Global positions of the appended events, in order. */
  readonly positions: readonly string[];
  /** True when every event id was already stored: the retry changed nothing. */
  readonly duplicate: boolean;
}

/** A position in the global log. Events strictly after it are read next. */
export interface Checkpoint {
  readonly transactionId: string;
  readonly position: string;
}

/** Before every event. */
export const START: Checkpoint = Object.freeze({ transactionId: '0', position: '0' });

export interface ReadStreamOptions {
  /** First version to read (default 0). */
  readonly fromVersion?: number;
  /** Last version to read, inclusive (default: the stream's head). */
  readonly toVersion?: number;
}

export interface ReadStreamResult<E extends StoredEvent = StoredEvent> {
  readonly exists: boolean;
  /** -1 when the stream does not exist. */
  readonly currentVersion: number;
  readonly events: readonly E[];
}

export interface ReadAllOptions {
  readonly after?: Checkpoint;
  /** At most this many events (default 1000). */
  readonly limit?: number;
}

export interface ReadAllResult {
  readonly events: readonly RecordedEvent[];
  /** Where the next read continues; equals `after` when nothing was read. */
  readonly checkpoint: Checkpoint;
}

/** Decides whether a new event's data is valid; `path` names the first bad field (e.g. `data.fingerprint`). */
export interface EventValidator {
  validate(type: string, schemaVersion: number, data: unknown): { ok: true } | { ok: false; path: string; message: string };
  currentVersion(type: string): number | undefined;
  /**
   * Brings data stored at an older `schemaVersion` up to the current one, on every read of a
   * stream (so readers see one shape per type). Absent: data is read as stored.
   */
  upcast?(type: string, schemaVersion: number, data: unknown): { schemaVersion: number; data: unknown };
}

/** Result of checking one stream's hash chain. */
export interface StreamVerification {
  readonly streamId: string;
  readonly ok: boolean;
  readonly eventsChecked: number;
  /** Where the chain first breaks. */
  readonly breach?: ChainBreach;
}

export interface ChainBreach {
  readonly streamVersion: number;
  readonly eventId?: string;
  readonly reason: 'content-altered' | 'prev-hash-mismatch' | 'version-gap';
  readonly detail: string;
}
