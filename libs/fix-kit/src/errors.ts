/** What went wrong in a {@link FixKitError}. */
export type FixKitErrorCode =
  | 'CATALOG_INVALID'
  | 'SOURCE_UNAVAILABLE'
  | 'GIT_FAILED'
  | 'LLM_OUTPUT_INVALID'
  | 'LLM_CALL_FAILED'
  | 'TEMPLATE_INVALID';

/** A broken invariant or an unavailable input in the diagnosis/patching kit; `code` says which. */
export class FixKitError extends Error {
  override readonly name = 'FixKitError';

  constructor(
    readonly code: FixKitErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
