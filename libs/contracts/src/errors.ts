/** Machine-readable reasons an {@link EventContractError} is thrown. */
export type EventContractErrorCode =
  | 'UNKNOWN_EVENT_TYPE'
  | 'UNSUPPORTED_SCHEMA_VERSION'
  | 'INVALID_EVENT_DATA'
  | 'INVALID_CATALOG'
  | 'INVALID_SUBJECT';

/**
 * Thrown when a caller breaks the event contract: an event type the catalog does not know, a
 * schema version it cannot read, data that does not match its schema, a malformed catalog, or a
 * stream or subject token that cannot be used.
 * Expected outcomes never throw it; `eventCatalog.validate` returns a result instead.
 */
export class EventContractError extends Error {
  override readonly name = 'EventContractError';

  /**
   * @param code what kind of contract was broken
   * @param message a readable sentence naming the offending type, version or field
   * @param options.cause the underlying error (e.g. a zod error), when there is one
   */
  constructor(
    readonly code: EventContractErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
