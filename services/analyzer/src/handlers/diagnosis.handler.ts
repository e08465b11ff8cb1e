import { Inject, Injectable } from '@nestjs/common';
import type { HandlerContext } from '@antibody/bus';
import { OnEvent } from '@antibody/bus/nest';
import { WrongExpectedVersionError, type StoredEvent } from '@antibody/event-store';
import { MetricsService } from '@antibody/platform';
import type { Counter } from 'prom-client';
import { withEscalation, type DiagnosisEvent } from '../domain/diagnosis';
import { Diagnoser } from './diagnoser';

/** Diagnoses each incident once from its first error sample, and again after each rollback (within the bound on rounds). */
@Injectable()
export class DiagnosisHandler {
  private readonly outcomes: Counter<string>;

  constructor(
    private readonly diagnoser: Diagnoser,
    @Inject(MetricsService) metrics: MetricsService,
  ) {
    this.outcomes = metrics.counter({ name: 'antibody_diagnoses_total', help: 'Diagnoses appended, by outcome, source and trigger (first sample or rollback)', labelNames: ['outcome', 'source', 'trigger'] });
  }

  @OnEvent('ErrorRecorded', { name: 'diagnose' })
  async onErrorRecorded(event: StoredEvent, ctx: HandlerContext): Promise<void> {
    const result = await this.diagnoser.diagnose(event);
    if (!result) return;
    // The expected version makes two samples of one incident racing here produce one diagnosis: the loser retries and finds it.
    await ctx.emit(event.streamId, withEscalation(result.events), { expectedVersion: result.expectedVersion });
    this.count(result.events, 'first-sample');
  }

  /**
   * A patch failed in production (the deployer rolled it back): the incident is diagnosed again,
   * or escalated once its rounds are used up (see {@link Diagnoser.rediagnose}). The append
   * expects the version the answer was decided at; when only unrelated events arrived meanwhile
   * the same answer is appended at the new version, so no model is paid twice for one request.
   */
  @OnEvent('DiagnosisRequested', { name: 'rediagnose' })
  async onDiagnosisRequested(event: StoredEvent, ctx: HandlerContext): Promise<void> {
    const result = await this.diagnoser.rediagnose(event);
    if (!result) return;
    const events = withEscalation(result.events);
    let expectedVersion: number | undefined = result.expectedVersion;
    for (let attempt = 1; expectedVersion !== undefined; attempt++) {
      try {
        await ctx.emit(event.streamId, events, { expectedVersion });
        break;
      } catch (error) {
        if (!(error instanceof WrongExpectedVersionError) || attempt >= 3) throw error;
        expectedVersion = await this.diagnoser.stillUnanswered(event);
        if (expectedVersion === undefined) return;
      }
    }
    this.count(result.events, 'rollback');
  }

  private count(events: readonly DiagnosisEvent[], trigger: 'first-sample' | 'rollback'): void {
    for (const e of events) {
      if (e.type === 'DiagnosisMade') this.outcomes.inc({ outcome: 'made', source: e.data.source, trigger });
      if (e.type === 'DiagnosisFailed') this.outcomes.inc({ outcome: 'failed', source: 'none', trigger });
      if (e.type === 'IncidentEscalated' && trigger === 'rollback') this.outcomes.inc({ outcome: 'escalated', source: 'none', trigger });
    }
  }
}
