// IncidentEscalated (from any step of the loop) -> an "escalated" notice, or a "budget exceeded"
// notice when the escalation says a cost budget ran out (`budgetExceeded`). Fix proposed, rolled
// out and rolled back are notified where they happen (the PatchValidated handler, the rollouts).
import { Inject, Injectable } from '@nestjs/common';
import type { HandlerContext } from '@antibody/bus';
import { EVENT_STORE, OnEvent } from '@antibody/bus/nest';
import type { EventStore } from '@antibody/event-store';
import { foldEvents, type RecordedEvent } from '@antibody/contracts';
import { incidentFold } from '@antibody/domain';
import { traceIdOf } from '../domain/notice-policy';
import { DEPLOYER_SETTINGS, type DeployerSettings } from './patch-validated.handler';

@Injectable()
export class NotificationsHandler {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(DEPLOYER_SETTINGS) private readonly settings: DeployerSettings,
  ) {}

  /**
   * Records the notice in the outbox (deduplicated per incident and kind for 24 h; the escalation's
   * event id is its cause, so a redelivery never asks twice); the notifier's delivery loop sends it,
   * with retries, and a digest over the rate. Starts from "now" the first time it runs, so putting
   * the deployer on an old store does not page for old incidents.
   */
  @OnEvent('IncidentEscalated', { name: 'notify-escalated', from: 'now' })
  async onEscalated(event: RecordedEvent<'IncidentEscalated'>, _ctx: HandlerContext): Promise<void> {
    const { data } = event;
    const cause = { causeId: event.eventId, linkIncidentId: event.streamId.replace(/^incident-/, ''), ...(traceIdOf(event.metadata.traceparent) ? { traceId: traceIdOf(event.metadata.traceparent) } : {}) };
    const { events } = await this.store.readStream(event.streamId, { toVersion: 0 });
    const opened = foldEvents(incidentFold, events).opened;
    const incidentId = opened?.incidentId ?? event.streamId.replace(/^incident-/, '');
    const service = opened?.service ?? 'unknown';
    if (data.budgetExceeded) {
      const b = data.budgetExceeded;
      // Per-incident budgets dedup per incident; daily and monthly ones per service and scope.
      const key = b.scope === 'incident' ? incidentId : `budget-${b.scope}-${service}`;
      await this.settings.notifier.notify({ ...cause, kind: 'budget-exceeded', incidentId: key, service, title: `${b.scope} budget exceeded for ${service}`, details: `spent $${b.spentUsd.toFixed(2)} of $${b.limitUsd.toFixed(2)} (${data.step}): ${data.reason}` });
      return;
    }
    await this.settings.notifier.notify({ ...cause, linkIncidentId: incidentId, kind: 'escalated', incidentId, service, title: `Incident escalated (${data.step}) on ${service}`, details: data.reason });
  }
}
