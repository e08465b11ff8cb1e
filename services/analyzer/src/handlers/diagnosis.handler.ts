import { Inject, Injectable } from '@nestjs/common';
import type { CommandOutcome, HandlerContext } from '@antibody/bus';
import { OnEvent } from '@antibody/bus/nest';
import type { RecordedEvent } from '@antibody/contracts';
import { MetricsService } from '@antibody/platform';
import type { Counter } from 'prom-client';
import type { DiagnosisEvent } from '../domain/diagnosis';
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

  /**
   * Diagnoses an incident from its first sample (later samples and redeliveries are ignored). The
   * append expects the version the diagnosis was decided at; on a conflict it is decided again
   * with the same facts, so no model is paid twice for one incident.
   */
  @OnEvent('ErrorRecorded', { name: 'diagnose' })
  async onErrorRecorded(event: RecordedEvent<'ErrorRecorded'>, ctx: HandlerContext): Promise<void> {
    const outcome = await this.diagnoser.handle({ kind: 'first-sample', sampleId: event.eventId }, event.streamId, (events, expectedVersion) => ctx.emit(event.streamId, events, { expectedVersion }));
    this.count(outcome, 'first-sample');
  }

  /**
   * A patch failed in production (the deployer rolled it back): the incident is diagnosed again,
   * or escalated once its rounds are used up (see `decideDiagnosis`).
   */
  @OnEvent('DiagnosisRequested', { name: 'rediagnose' })
  async onDiagnosisRequested(event: RecordedEvent<'DiagnosisRequested'>, ctx: HandlerContext): Promise<void> {
    const outcome = await this.diagnoser.handle({ kind: 'rollback', requestId: event.eventId }, event.streamId, (events, expectedVersion) => ctx.emit(event.streamId, events, { expectedVersion }));
    this.count(outcome, 'rollback');
  }

  private count(outcome: CommandOutcome<DiagnosisEvent>, trigger: 'first-sample' | 'rollback'): void {
    if (outcome.kind !== 'appended') return;
    for (const e of outcome.events) {
      if (e.type === 'DiagnosisMade') this.outcomes.inc({ outcome: 'made', source: e.data.source, trigger });
      if (e.type === 'DiagnosisFailed') this.outcomes.inc({ outcome: 'failed', source: 'none', trigger });
      if (e.type === 'IncidentEscalated' && trigger === 'rollback') this.outcomes.inc({ outcome: 'escalated', source: 'none', trigger });
    }
  }
}
