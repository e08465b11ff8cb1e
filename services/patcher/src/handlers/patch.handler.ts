import { Inject, Injectable } from '@nestjs/common';
import type { HandlerContext } from '@antibody/bus';
import { OnEvent } from '@antibody/bus/nest';
import type { RecordedEvent } from '@antibody/contracts';
import { MetricsService } from '@antibody/platform';
import type { Counter } from 'prom-client';
import { withEscalation } from '../domain/patching';
import { Learner } from './learner';
import { Patcher } from './patcher';

/** Proposes patches for each diagnosis, and learns from how fixes turned out. */
@Injectable()
export class PatchHandler {
  private readonly outcomes: Counter<string>;

  constructor(
    private readonly patcher: Patcher,
    private readonly learner: Learner,
    @Inject(MetricsService) metrics: MetricsService,
  ) {
    this.outcomes = metrics.counter({ name: 'antibody_patch_outcomes_total', help: 'Patch proposals and failures appended, by source', labelNames: ['outcome', 'source'] });
  }

  @OnEvent('DiagnosisMade', { name: 'propose' })
  async onDiagnosis(event: RecordedEvent<'DiagnosisMade'>, ctx: HandlerContext): Promise<void> {
    const proposed = await this.patcher.patch(event);
    if (!proposed || proposed.length === 0) return;
    const events = withEscalation(proposed);
    await ctx.emit(event.streamId, events);
    for (const e of events) {
      if (e.type === 'PatchProposed' && e.data.rank === 1) this.outcomes.inc({ outcome: 'proposed', source: e.data.source });
      if (e.type === 'PatchFailed') this.outcomes.inc({ outcome: 'failed', source: 'none' });
    }
  }

  @OnEvent(['IncidentResolved', 'RolledBack', 'PatchRejected'], { name: 'learn' })
  async onOutcome(event: RecordedEvent<'IncidentResolved' | 'RolledBack' | 'PatchRejected'>, ctx: HandlerContext): Promise<void> {
    const learned = await this.learner.learn(event);
    if (learned && learned.events.length > 0) await ctx.emit(learned.streamId, learned.events);
  }
}
