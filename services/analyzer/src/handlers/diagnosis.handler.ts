import { Inject, Injectable } from '@nestjs/common';
import type { HandlerContext } from '@antibody/bus';
import { OnEvent } from '@antibody/bus/nest';
import { WrongExpectedVersionError, type StoredEvent } from '@antibody/event-store';
import { MetricsService } from '@antibody/platform';
import type { Counter } from 'prom-client';
import { withEscalation, type DiagnosisEvent } from '../domain/diagnosis';
import { Diagnoser } from './diagnoser';

/** Appends of one computed answer before a version conflict is left to the consumer's retry (which computes it again). */
const APPEND_ATTEMPTS = 3;

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
   * Diagnoses an incident from its first sample. The append expects the version the diagnosis
   * was decided at; when only events that do not change it arrived meanwhile (later samples,
   * occurrence counts) the same diagnosis is appended at the new version, so no model is paid
   * twice for one incident; when a diagnosis was recorded meanwhile, nothing is appended.
   */
  @OnEvent('ErrorRecorded', { name: 'diagnose' })
  async onErrorRecorded(event: StoredEvent, ctx: HandlerContext): Promise<void> {
    const result = await this.diagnoser.diagnose(event);
    if (!result) return;
    if (await this.append(ctx, event.streamId, withEscalation(result.events), result.expectedVersion, () => this.diagnoser.stillUndiagnosed(event))) {
      this.count(result.events, 'first-sample');
    }
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
    if (await this.append(ctx, event.streamId, withEscalation(result.events), result.expectedVersion, () => this.diagnoser.stillUnanswered(event))) {
      this.count(result.events, 'rollback');
    }
  }

  /**
   * Appends an answer at `expectedVersion`; on a version conflict `recheck` gives the version to
   * append the same answer at, or undefined when the stream answered it meanwhile. True when
   * appended. Conflicts beyond {@link APPEND_ATTEMPTS} are thrown, so the delivery is retried.
   */
  private async append(ctx: HandlerContext, streamId: string, events: readonly DiagnosisEvent[], expectedVersion: number, recheck: () => Promise<number | undefined>): Promise<boolean> {
    let version = expectedVersion;
    for (let attempt = 1; ; attempt++) {
      try {
        await ctx.emit(streamId, events, { expectedVersion: version });
        return true;
      } catch (error) {
        if (!(error instanceof WrongExpectedVersionError) || attempt >= APPEND_ATTEMPTS) throw error;
        const next = await recheck();
        if (next === undefined) return false;
        version = next;
      }
    }
  }

  private count(events: readonly DiagnosisEvent[], trigger: 'first-sample' | 'rollback'): void {
    for (const e of events) {
      if (e.type === 'DiagnosisMade') this.outcomes.inc({ outcome: 'made', source: e.data.source, trigger });
      if (e.type === 'DiagnosisFailed') this.outcomes.inc({ outcome: 'failed', source: 'none', trigger });
      if (e.type === 'IncidentEscalated' && trigger === 'rollback') this.outcomes.inc({ outcome: 'escalated', source: 'none', trigger });
    }
  }
}
