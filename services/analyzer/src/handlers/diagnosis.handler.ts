import { Inject, Injectable } from '@nestjs/common';
import type { HandlerContext } from '@antibody/bus';
import { OnEvent } from '@antibody/bus/nest';
import type { StoredEvent } from '@antibody/event-store';
import { MetricsService } from '@antibody/platform';
import type { Counter } from 'prom-client';
import { afterFailedPatches, withEscalation, type DiagnosisRequest } from '../domain/diagnosis';
import { Diagnoser } from './diagnoser';

/** Diagnoses each incident once, from its first error sample. */
@Injectable()
export class DiagnosisHandler {
  private readonly outcomes: Counter<string>;

  constructor(
    private readonly diagnoser: Diagnoser,
    @Inject(MetricsService) metrics: MetricsService,
  ) {
    this.outcomes = metrics.counter({ name: 'antibody_diagnoses_total', help: 'Diagnoses appended, by outcome and source', labelNames: ['outcome', 'source'] });
  }

  @OnEvent('ErrorRecorded', { name: 'diagnose' })
  async onErrorRecorded(event: StoredEvent, ctx: HandlerContext): Promise<void> {
    const result = await this.diagnoser.diagnose(event);
    if (!result) return;
    // The expected version makes two samples of one incident racing here produce one diagnosis: the loser retries and finds it.
    await ctx.emit(event.streamId, withEscalation(result.events), { expectedVersion: result.expectedVersion });
    for (const e of result.events) {
      if (e.type === 'DiagnosisMade') this.outcomes.inc({ outcome: 'made', source: e.data.source });
      if (e.type === 'DiagnosisFailed') this.outcomes.inc({ outcome: 'failed', source: 'none' });
    }
  }

  /** A patch failed in production (the deployer rolled it back): see {@link afterFailedPatches}. */
  @OnEvent('DiagnosisRequested', { name: 'rediagnose' })
  async onDiagnosisRequested(event: StoredEvent, ctx: HandlerContext): Promise<void> {
    await ctx.emit(event.streamId, [afterFailedPatches(event.data as DiagnosisRequest)]);
    this.outcomes.inc({ outcome: 'escalated', source: 'rollback' });
  }
}
