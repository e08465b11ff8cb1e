import type { DiagnosisEvent } from './diagnosis';
import { diagnosisFailed, firstSampleId } from './diagnosis';

/** The part of a stored incident event the decision reads. */
export interface IncidentEventFacts {
  readonly type: string;
  readonly eventId: string;
  readonly data: unknown;
}

/** What to do with a DiagnosisRequested (a patch failed in production and was rolled back). */
export type RediagnosisDecision =
  /** Already answered, or superseded by a later request or a reopening: nothing to append. */
  | { readonly kind: 'answered' }
  /** Diagnose the incident's recorded sample again; `note` goes on the DiagnosisMade. */
  | { readonly kind: 'diagnose'; readonly round: number; readonly sampleId: string; readonly note: string }
  /** Stop: the bound on rounds is reached (IncidentEscalated) or there is nothing to diagnose from (DiagnosisFailed, to escalate with). */
  | { readonly kind: 'stop'; readonly events: readonly DiagnosisEvent[] };

const ANSWERS = new Set(['DiagnosisMade', 'DiagnosisFailed', 'IncidentEscalated', 'IncidentResolved']);
const SUPERSEDERS = new Set(['DiagnosisRequested', 'IncidentReopened']);

const patches = (ids: readonly string[]): string => `${ids.length === 1 ? 'patch' : 'patches'} ${ids.map((id) => id.slice(0, 8)).join(', ')}`;

/**
 * Decides the answer to the DiagnosisRequested `requestId` of an incident's stream. Each request
 * starts a new round; at most `maxRounds` rounds follow rollbacks (counted since the incident was
 * last reopened), so the loop cannot spin: the request beyond them ends the incident escalated,
 * naming every patch that failed. A request is answered once (anything the analyzer or a person
 * appended after it counts as the answer).
 */
export function decideRediagnosis(events: readonly IncidentEventFacts[], requestId: string, maxRounds: number): RediagnosisDecision {
  const at = events.findIndex((e) => e.eventId === requestId);
  if (at < 0) throw new RediagnosisError(`DiagnosisRequested ${requestId} is not in the incident's stream`);
  const after = events.slice(at + 1);
  if (after.some((e) => ANSWERS.has(e.type) || SUPERSEDERS.has(e.type))) return { kind: 'answered' };

  const before = events.slice(0, at + 1);
  let round = 0;
  for (const e of before) {
    if (e.type === 'IncidentReopened') round = 0;
    if (e.type === 'DiagnosisRequested') round++;
  }
  const request = events[at]!.data as { reason?: string; excludePatchIds?: string[] };
  const excluded = request.excludePatchIds ?? [];
  const failed = `${patches(excluded)} failed in production (${request.reason ?? 'rolled back'})`;
  if (round > maxRounds) {
    const bound = maxRounds === 0 ? 're-diagnosis after a rollback is off (ANTIBODY_MAX_ROLLBACK_ROUNDS=0)' : `it already went back to diagnosis ${maxRounds} time${maxRounds === 1 ? '' : 's'}, the most allowed (ANTIBODY_MAX_ROLLBACK_ROUNDS=${maxRounds})`;
    return { kind: 'stop', events: [{ type: 'IncidentEscalated', data: { reason: `${failed}; ${bound}: a person decides the next step`.slice(0, 2000), step: 'diagnosis' } }] };
  }
  const sampleId = firstSampleId(before);
  if (!sampleId) {
    const reason = `${failed}, and the incident has no recorded error sample to diagnose again from`;
    return { kind: 'stop', events: [diagnosisFailed(reason)] };
  }
  return { kind: 'diagnose', round, sampleId, note: `diagnosed again after a rollback (round ${round} of at most ${maxRounds}): ${patches(excluded)} excluded` };
}

/** A DiagnosisRequested that cannot be decided on: the stream does not hold it (read too early). Retried by the consumer. */
export class RediagnosisError extends Error {
  override readonly name = 'RediagnosisError';
  readonly code = 'REQUEST_NOT_IN_STREAM';
}
