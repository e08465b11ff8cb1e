// What an incident's stream says about the fixes that already failed: the patches a
// DiagnosisRequested excludes (they failed in production), with the change each made and why it
// was rolled back, and the patches the validator rejected, with their change and the reason.
// Pure: both the analyzer and the patcher read it from the stream they already hold.

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

/** A patch the validator rejected, as the incident's stream records it. */
export interface RejectedFix extends FailedFix {
  /** The unified diff its PatchProposed carried. */
  readonly diff: string;
  /** The commit that diff was made against (PatchProposed.baseCommit); absent when the proposal did not record one. */
  readonly baseCommit?: string;
}

/**
 * Validation steps whose failure says nothing about the change (the checkout, the dependencies or the
 * unpatched tests failed): such a rejection does not rule the change out.
 */
const NOT_ABOUT_THE_CHANGE = new Set(['prepare', 'install', 'baseline']);

/**
 * The patches the validator rejected (PatchRejected) at or below stream version `upTo` (all of
 * them when omitted), once each, in the order they were rejected, with the change each made and
 * why it was rejected. A rejection whose proposal is not in the stream is left out: there is no
 * change to compare with; so is one at a step that says nothing about the change.
 */
export function rejectedFixes(events: readonly FailedFixEvent[], upTo = Number.POSITIVE_INFINITY): RejectedFix[] {
  const rejected = new Map<string, RejectedFix>();
  for (const e of events) {
    if (e.type !== 'PatchRejected' || e.streamVersion > upTo) continue;
    const d = (e.data ?? {}) as { patchId?: string; reason?: string; stage?: string };
    if (d.patchId === undefined || rejected.has(d.patchId)) continue;
    if (d.stage !== undefined && NOT_ABOUT_THE_CHANGE.has(d.stage)) continue;
    const proposed = events.find((p) => p.type === 'PatchProposed' && (p.data as { patchId?: string }).patchId === d.patchId)?.data as
      | { diff?: string; files?: string[]; baseCommit?: string }
      | undefined;
    if (proposed?.diff === undefined) continue;
    rejected.set(d.patchId, {
      patchId: d.patchId,
      diff: proposed.diff,
      ...(proposed.files ? { files: [...proposed.files] } : {}),
      ...(proposed.baseCommit !== undefined ? { baseCommit: proposed.baseCommit } : {}),
      outcome: `rejected by the validator${d.stage ? ` at ${d.stage}` : ''}: ${d.reason ?? ''}`.trim(),
    });
  }
  return [...rejected.values()];
}
