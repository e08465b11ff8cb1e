/** What went wrong in {@link EventBusModuleError}. */
export type EventBusModuleErrorCode = 'OPTIONS_INVALID' | 'CONNECTION_MISSING' | 'HANDLER_NAME_INVALID' | 'HANDLER_NAME_TAKEN';

/**
 * Thrown while a Nest application that imports `EventBusModule` starts: bad module options, no
 * connection to build on, or `@OnEvent` handlers whose names cannot make (distinct) durable
 * consumers. The message says which handler and how to fix it.
 */
export class EventBusModuleError extends Error {
  override readonly name = 'EventBusModuleError';

  constructor(
    readonly code: EventBusModuleErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
