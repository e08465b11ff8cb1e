// MessageDeadLettered -> when the event set aside was an incident's, IncidentEscalated on that
// incident naming the consumer, the event and the error (domain/dead-letter.ts decides).
//
// Why the deployer and not the bus: the bus is transport plumbing that knows no stream's meaning,
// and on JetStream a dead letter has no transaction to share with the incident's append. Reading
// the recorded dead letter and deciding on the incident's stream, at its expected version, keeps
// the rule in a domain with a spec and makes it work the same on both transports. The deployer
// already owns what follows an escalation (its notice), so it is where escalations are completed.
import { Injectable, Inject, Logger } from '@nestjs/common';
import { handleCommand, type HandlerContext } from '@antibody/bus';
import { EVENT_STORE, OnEvent } from '@antibody/bus/nest';
import type { EventStore } from '@antibody/event-store';
import type { RecordedEvent } from '@antibody/contracts';
import { incidentFold } from '@antibody/domain';
import { decideDeadLetter, incidentStreamOf } from '../domain/dead-letter';

@Injectable()
export class DeadLetterHandler {
  private readonly log = new Logger('deployer');

  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  /**
   * Escalates the incident whose event a handler of any service gave up on, once per dead letter.
   * Starts from "now" the first time it runs, so putting the deployer on an old store does not
   * escalate incidents for dead letters an operator already dealt with.
   */
  @OnEvent('MessageDeadLettered', { name: 'escalate-dead-letters', from: 'now' })
  async onDeadLetter(event: RecordedEvent<'MessageDeadLettered'>, ctx: HandlerContext): Promise<void> {
    const streamId = incidentStreamOf(event);
    if (!streamId) return;
    const outcome = await handleCommand(
      { store: this.store, streamId, fold: incidentFold, append: (events, expectedVersion) => ctx.emit(streamId, events, { expectedVersion }) },
      (state) => decideDeadLetter(event, state),
    );
    if (outcome.kind === 'ignored') this.log.debug(`${event.type} ${event.eventId}: nothing to do, ${outcome.because}`);
    else this.log.warn(`${event.type} ${event.eventId}: ${streamId} escalated (${event.data.consumer} gave up on ${event.data.originalType})`);
  }
}
