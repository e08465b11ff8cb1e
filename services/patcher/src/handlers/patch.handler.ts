import { Inject, Injectable } from '@nestjs/common';
import type { HandlerContext } from '@antibody/bus';
import { OnEvent } from '@antibody/bus/nest';
import type { RecordedEvent } from '@antibody/contracts';
import { MetricsService } from '@antibody/platform';
import type { Counter } from 'prom-client';
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

  /** Answers a diagnosis once (see `decidePatch`), appended at the version it was decided at; a conflict decides again with the same facts. */
  @OnEvent('DiagnosisMade', { name: 'propose' })
  async onDiagnosis(event: RecordedEvent<'DiagnosisMade'>, ctx: HandlerContext): Promise<void> {
    const outcome = await this.patcher.handle(event.eventId, event.streamId, (events, expectedVersion) => ctx.emit(event.streamId, events, { expectedVersion }));
    if (outcome.kind !== 'appended') return;
    for (const e of outcome.events) {
      if (e.type === 'PatchProposed' && e.data.rank === 1) this.outcomes.inc({ outcome: 'proposed', source: e.data.source });
      if (e.type === 'PatchFailed') this.outcomes.inc({ outcome: 'failed', source: 'none' });
    }
  }

  @OnEvent(['IncidentResolved', 'RolledBack', 'PatchRejected'], { name: 'learn' })
  async onOutcome(event: RecordedEvent<'IncidentResolved' | 'RolledBack' | 'PatchRejected'>, ctx: HandlerContext): Promise<void> {
    await this.learner.handle(event, (streamId, events, expectedVersion) => ctx.emit(streamId, events, { expectedVersion }));
  }
}
