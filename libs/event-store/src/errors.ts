/** Base class of every error the event store throws on purpose; `code` is stable, `message` is for people. */
export abstract class EventStoreError extends Error {
  abstract readonly code: string;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The stream was not at the version the caller expected. Nothing was written. */
export class WrongExpectedVersionError extends EventStoreError {
  readonly code = 'WRONG_EXPECTED_VERSION';
  constructor(
    readonly streamId: string,
    readonly expected: 'no-stream' | 'any' | number,
    readonly actual: number,
  ) {
    super(`stream "${streamId}" is at version ${actual === -1 ? 'no-stream' : actual}, expected ${expected}`);
  }
}

/** An event failed its schema or the envelope rules. Nothing was written. `path` names the first bad field. */
export class InvalidEventError extends EventStoreError {
  readonly code = 'INVALID_EVENT';
  constructor(
    readonly eventType: string,
    readonly path: string,
    detail: string,
  ) {
    super(`invalid ${eventType} event: ${detail}`);
  }
}

/** Event ids were reused for different events (a retry must resend exactly the same batch). Nothing was written. */
export class EventIdReusedError extends EventStoreError {
  readonly code = 'EVENT_ID_REUSED';
  constructor(
    readonly streamId: string,
    detail: string,
  ) {
    super(`cannot append to "${streamId}": ${detail}`);
  }
}

/** A read or verify named a stream that has no events. */
export class StreamNotFoundError extends EventStoreError {
  readonly code = 'STREAM_NOT_FOUND';
  constructor(readonly streamId: string) {
    super(`stream "${streamId}" does not exist`);
  }
}

/** A configuration value (schema name, batch size…) is unusable. */
export class EventStoreConfigError extends EventStoreError {
  readonly code = 'EVENT_STORE_CONFIG';
}
