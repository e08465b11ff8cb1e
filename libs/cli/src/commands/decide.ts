import { hostname, userInfo } from 'node:os';
import { foldEvents, isEvent, type RecordedEvent } from '@antibody/contracts';
import { chosenFix, incidentFold } from '@antibody/domain';
import type { EventStore } from '@antibody/event-store';
import { usageError } from '../errors';
import type { Output } from '../output';

export interface DecideOptions {
  readonly by?: string;
  readonly patch?: string;
  readonly comment?: string;
  readonly json?: boolean;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * `antibody approve|reject <incident>`: records a person's decision on the incident's rollout as a
 * DecisionRecorded event (step `rollout`), about `--patch` or else the incident's latest validated
 * patch. The deployer reacts to it: approve starts the rollout of a proposed fix, reject stops a
 * running one or withdraws the proposal. Appends with the stream's current version as the expected
 * one, so a decision never lands on a stream that changed under it unseen (it then fails, exit 1).
 * Usage errors (bad id, no patch to decide on): exit 2.
 */
export async function decide(store: EventStore, decision: 'approve' | 'reject', incidentId: string, options: DecideOptions, out: Output, env: Readonly<Record<string, string | undefined>>): Promise<void> {
  if (!UUID.test(incidentId)) throw usageError(`incident id must be a uuid, got "${incidentId}"`);
  if (options.patch !== undefined && !UUID.test(options.patch)) throw usageError(`--patch must be a uuid, got "${options.patch}"`);
  const streamId = `incident-${incidentId}`;
  const { events, exists, currentVersion } = await store.readStream(streamId);
  if (!exists) throw usageError(`no incident ${incidentId} (stream ${streamId} does not exist)`);
  const patchId = options.patch ?? latestFix(events);
  if (patchId === undefined) throw usageError(`incident ${incidentId} has no validated patch to ${decision}; pass --patch <id>`);
  const last = events[events.length - 1];
  const by = options.by ?? env.ANTIBODY_USER ?? safeUser();
  const data = { by, decision, step: 'rollout' as const, patchId, ...(options.comment ? { comment: options.comment } : {}) };
  const result = await store.appendToStream(
    streamId,
    [{ type: 'DecisionRecorded', data, metadata: { correlationId: incidentId, causationId: last?.eventId ?? null, producer: { service: 'cli', instance: hostname() }, occurredAt: new Date().toISOString() } }],
    { expectedVersion: currentVersion },
  );
  if (options.json) out.line(JSON.stringify({ ...result, streamId, ...data }));
  else out.line(`recorded: ${by} ${decision === 'approve' ? 'approved' : 'rejected'} patch ${patchId} of incident ${incidentId}`);
}

/**
 * The patch a decision is about when none is named: the fix the incident's current round settled
 * on, else the patch validated or committed last.
 */
function latestFix(events: readonly RecordedEvent[]): string | undefined {
  const chosen = chosenFix(foldEvents(incidentFold, events));
  if (chosen) return chosen.proposal.data.patchId;
  return events.filter(isEvent('PatchValidated', 'FixCommitted')).pop()?.data.patchId;
}

function safeUser(): string {
  try {
    return userInfo().username || 'unknown';
  } catch {
    return 'unknown';
  }
}
