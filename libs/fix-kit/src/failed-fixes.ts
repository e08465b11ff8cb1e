// What an incident's stream says about the fixes that already failed in production: the patches
// a DiagnosisRequested excludes, with the change each made and why it was rolled back. Pure: both
// the analyzer and the patcher read it from the stream they already hold.

/** The part of a stored event this reads. */
export interface FailedFixEvent {
  readonly type: string;
  readonly data: unknown;
  readonly streamVersion: number;
}

/** A patch that was rolled back, as the incident's stream records it. */
export interface FailedFix {
  readonly patchId: string;
  /** The unified diff its PatchProposed carried; absent when the stream holds no proposal of that id. */
  readonly diff?: string;
  readonly files?: readonly string[];
  /** Why it failed: its RolledBack (stage, cause, reason), else the reason of the request that excluded it. */
  readonly outcome: string;
}

interface Requested {
  reason?: string;
  excludePatchIds?: string[];
}

/**
 * The patches excluded by every DiagnosisRequested at or below stream version `upTo` (all of
 * them when omitted), once each, in the order they were first excluded. A patch stays excluded
 * for the rest of the incident: a change that failed in production is never proposed again.
 */
export function failedFixes(events: readonly FailedFixEvent[], upTo = Number.POSITIVE_INFINITY): FailedFix[] {
  const excluded = new Map<string, string>();
  for (const e of events) {
    if (e.type !== 'DiagnosisRequested' || e.streamVersion > upTo) continue;
    const d = (e.data ?? {}) as Requested;
    for (const id of d.excludePatchIds ?? []) if (!excluded.has(id)) excluded.set(id, d.reason ?? 'rolled back');
  }
  return [...excluded].map(([patchId, requestReason]) => {
    const proposed = events.find((e) => e.type === 'PatchProposed' && (e.data as { patchId?: string }).patchId === patchId)?.data as { diff?: string; files?: string[] } | undefined;
    const rolledBack = [...events].reverse().find((e) => e.type === 'RolledBack' && (e.data as { patchId?: string }).patchId === patchId)?.data as
      | { stage?: number; cause?: string; reason?: string }
      | undefined;
    const outcome = rolledBack ? `rolled back at ${String(rolledBack.stage ?? '?')}% (${rolledBack.cause ?? 'unknown cause'}): ${rolledBack.reason ?? ''}`.trim() : requestReason;
    return { patchId, ...(proposed?.diff !== undefined ? { diff: proposed.diff } : {}), ...(proposed?.files ? { files: [...proposed.files] } : {}), outcome };
  });
}
