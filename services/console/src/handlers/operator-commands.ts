// A person's command on an incident (approve, reject, retry, resolve, close), authenticated by
// the HTTP layer: the decision is the domain's (decideOperatorCommand on the shared incident
// fold), appended with the bus's handleCommand at the version it was decided on. The events carry
// the token's identity in their data where the contract has a place for it, and always in the
// metadata (`actor`), and continue the incident's trace.
import { randomUUID } from 'node:crypto';
import { handleCommand } from '@antibody/bus';
import { ignore, type AntibodyEvent, type OperatorIdentity, type RecordedEvent } from '@antibody/contracts';
import { decideOperatorCommand, incidentFold, type OperatorCommand, type Refusal } from '@antibody/domain';
import type { AppendResult, EventStore, ExpectedVersion } from '@antibody/event-store';

/** What a command did: the events appended (with their stream positions), or why nothing was. */
export type CommandResult =
  | { readonly kind: 'appended'; readonly events: readonly { readonly eventId: string; readonly type: string; readonly streamVersion: number }[] }
  | Refusal;

/** Who appends: the console instance. */
export interface CommandProducer {
  readonly service: string;
  readonly instance: string;
}

/**
 * Runs one command on `incident-<incidentId>`. A version conflict (the loop appended meanwhile)
 * is decided again on the new stream, so a person never decides on a state they did not see
 * without it being checked again. Throws only for infrastructure failures.
 */
export async function runOperatorCommand(store: EventStore, producer: CommandProducer, incidentId: string, command: OperatorCommand): Promise<CommandResult> {
  const streamId = `incident-${incidentId}`;
  let refusal: Refusal | undefined;
  let context: { causationId: string | null; traceparent?: string; tracestate?: string } = { causationId: null };
  let eventIds: string[] = [];
  const outcome = await handleCommand(
    {
      store,
      streamId,
      fold: {
        initialState: incidentFold.initialState,
        evolve: (state, event: RecordedEvent) => {
          context = { causationId: event.eventId, ...traceOf(event, context) };
          return incidentFold.evolve(state, event);
        },
      },
      append: (events, expectedVersion) => {
        eventIds = events.map(() => randomUUID());
        return append(store, streamId, events, expectedVersion, { producer, incidentId, actor: command.by, eventIds, ...context });
      },
    },
    (state) => {
      const decision = decideOperatorCommand(command, state);
      refusal = decision.kind === 'refuse' ? decision : undefined;
      return decision.kind === 'refuse' ? ignore(decision.because) : decision;
    },
  );
  if (outcome.kind === 'appended') {
    const first = outcome.result.nextExpectedVersion - outcome.events.length + 1;
    return { kind: 'appended', events: outcome.events.map((event, index) => ({ eventId: eventIds[index] ?? '', type: event.type, streamVersion: first + index })) };
  }
  return refusal ?? { kind: 'refuse', code: 'conflict', because: outcome.because };
}

/** The incident's trace: the latest event's context, so the deployer's reaction joins the incident's trace. */
function traceOf(event: RecordedEvent, previous: { traceparent?: string; tracestate?: string }): { traceparent?: string; tracestate?: string } {
  if (event.metadata.traceparent === undefined) return { ...(previous.traceparent ? { traceparent: previous.traceparent } : {}), ...(previous.tracestate ? { tracestate: previous.tracestate } : {}) };
  return { traceparent: event.metadata.traceparent, ...(event.metadata.tracestate ? { tracestate: event.metadata.tracestate } : {}) };
}

function append(
  store: EventStore,
  streamId: string,
  events: readonly AntibodyEvent[],
  expectedVersion: ExpectedVersion,
  meta: { producer: CommandProducer; incidentId: string; actor: OperatorIdentity; eventIds: readonly string[]; causationId: string | null; traceparent?: string; tracestate?: string },
): Promise<AppendResult> {
  const occurredAt = new Date().toISOString();
  return store.appendToStream(
    streamId,
    events.map((event, index) => ({
      eventId: meta.eventIds[index],
      type: event.type,
      data: event.data,
      metadata: {
        correlationId: meta.incidentId,
        causationId: meta.causationId,
        ...(meta.traceparent ? { traceparent: meta.traceparent } : {}),
        ...(meta.tracestate ? { tracestate: meta.tracestate } : {}),
        producer: meta.producer,
        occurredAt,
        actor: { kind: 'operator-token', ...meta.actor },
      },
    })),
    { expectedVersion },
  );
}
