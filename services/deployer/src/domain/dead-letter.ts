// A handler that failed on an incident's event until the bus set the event aside (MessageDeadLettered
// in `deadletter-<consumer>`) leaves the incident where that handler stopped it: nothing else will
// move it on. The incident ends escalated, naming the consumer, the event and the error, once per
// dead letter (the escalation's causation is the dead letter).
import { appendEvents, ignore, type Decision, type HealingStep, type RecordedEvent } from '@antibody/contracts';
import type { IncidentState } from '@antibody/domain';

/** The incident stream a dead letter is about, or undefined when its event was not an incident's. */
export function incidentStreamOf(deadLetter: RecordedEvent<'MessageDeadLettered'>): string | undefined {
  const stream = deadLetter.data.originalStreamId;
  return /^incident-./.test(stream) ? stream : undefined;
}

/** The step each service's consumers perform; a consumer of another service is placed by the event it failed on. */
const STEP_OF_SERVICE: Readonly<Record<string, HealingStep>> = { ingest: 'ingest', analyzer: 'diagnosis', patcher: 'patch', validator: 'validation', deployer: 'rollout' };
const STEP_OF_EVENT: Readonly<Record<string, HealingStep>> = {
  IncidentOpened: 'diagnosis',
  ErrorRecorded: 'diagnosis',
  IncidentReopened: 'diagnosis',
  DiagnosisRequested: 'diagnosis',
  DiagnosisMade: 'patch',
  PatchProposed: 'validation',
};

const REASON_MAX_CHARS = 2000;

/**
 * Escalates the incident the dead-lettered event belonged to, unless this dead letter already
 * escalated it, the incident does not exist, it was resolved (it healed; the dead letter stays in
 * its stream for the operator), or the event set aside was itself an escalation (the incident
 * already stands escalated, and escalating again would feed the same failing handler forever).
 */
export function decideDeadLetter(deadLetter: RecordedEvent<'MessageDeadLettered'>, state: IncidentState): Decision {
  const { consumer, originalType, originalEventId, originalStreamId, reason } = deadLetter.data;
  if (!incidentStreamOf(deadLetter)) return ignore(`${originalStreamId} is not an incident stream`);
  if (!state.opened) return ignore(`${originalStreamId} holds no incident`);
  if (state.escalations.some((e) => e.metadata.causationId === deadLetter.eventId)) return ignore(`already escalated for dead letter ${deadLetter.eventId}`);
  if (originalType === 'IncidentEscalated') return ignore(`the event set aside is an escalation: the incident already stands escalated (see ${deadLetter.streamId})`);
  if (state.status === 'resolved') return ignore(`the incident was resolved; the dead letter stays in ${deadLetter.streamId}`);
  const step = STEP_OF_SERVICE[consumer.split('-')[0] ?? ''] ?? STEP_OF_EVENT[originalType] ?? 'rollout';
  const text = `handler ${consumer} failed on ${originalType} ${originalEventId} until it was dead-lettered (${deadLetter.streamId}): ${reason.trim()}`;
  return appendEvents({
    type: 'IncidentEscalated',
    data: { step, reason: `${text.slice(0, REASON_MAX_CHARS - 80)}; the incident stops there and a person decides the next step` },
  });
}
