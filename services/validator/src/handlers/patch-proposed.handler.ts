import { Inject, Injectable, Logger, type Type } from '@nestjs/common';
import { foldEvents, type RecordedEvent } from '@antibody/contracts';
import { EVENT_STORE, OnEvent } from '@antibody/bus/nest';
import { handleCommand, type CommandOutcome, type HandlerContext } from '@antibody/bus';
import { incidentFold, serviceFold, type IncidentState, type ServiceState } from '@antibody/domain';
import { EventIdReusedError, type EventStore } from '@antibody/event-store';
import { MetricsService } from '@antibody/platform';
import type { VerdictEvent } from '../domain/steps';
import { decideValidation, type ValidatePatch } from '../domain/validation';
import { ValidationStore } from '../infrastructure/validation-store';
import { Workspaces } from '../infrastructure/workspace';
import { validatePatch, type ValidationSettings } from './validate-patch';

/** Another live instance is validating this patch: retry later (the bus naks with backoff). */
export class ValidationBusyError extends Error {
  override readonly name = 'ValidationBusyError';
  readonly code = 'VALIDATION_IN_PROGRESS' as const;
  constructor(patchId: string) {
    super(`patch ${patchId} is being validated by another instance; retrying later`);
  }
}

/** Delivery settings of the PatchProposed consumer. */
export interface HandlerDelivery {
  readonly concurrency: number;
  readonly ackWaitMs: number;
}

/** Injection tokens of the handler's collaborators. */
export const VALIDATION_SETTINGS = Symbol('antibody.validator.settings');

type Claim = { release(): Promise<void> };

/**
 * Builds the provider that reacts to `PatchProposed` (a class per configuration: the consumer's
 * concurrency and ack wait are decorator arguments). For each proposed patch it appends exactly
 * one `PatchValidated` or `PatchRejected` to the incident's stream, as `decideValidation` decides
 * from the folded incident and service streams, through `handleCommand` at the version it read:
 *
 * - a patch that already has a verdict is ignored (checked before and after claiming the work,
 *   and again at the append: a version conflict re-reads, re-folds and decides again, reusing the
 *   validation's verdict rather than running it twice);
 * - the work is claimed with a Postgres session lock held for the whole validation: a process
 *   killed mid-run loses it at once, and the redelivered event is taken over by another instance;
 *   an instance that finds the lock held throws {@link ValidationBusyError} (retry with backoff);
 * - the verdict's id derives from the PatchProposed event (ctx.emit), so a redelivery after an
 *   earlier attempt appended a (slightly different) verdict ends quietly.
 */
export function patchProposedHandler(delivery: HandlerDelivery): Type<unknown> {
  @Injectable()
  class PatchProposedHandler {
    private readonly logger = new Logger('Validator');
    private readonly outcomes;

    constructor(
      @Inject(EVENT_STORE) private readonly store: EventStore,
      @Inject(ValidationStore) private readonly validations: ValidationStore,
      @Inject(Workspaces) private readonly workspaces: Workspaces,
      @Inject(VALIDATION_SETTINGS) private readonly settings: ValidationSettings,
      @Inject(MetricsService) metrics: MetricsService,
    ) {
      this.outcomes = metrics.counter({
        name: 'antibody_validator_verdicts_total',
        help: 'Verdicts appended by this instance, by outcome (validated, or rejected and the stage).',
        labelNames: ['outcome', 'stage'],
      });
    }

    @OnEvent('PatchProposed', { name: 'validate', concurrency: delivery.concurrency, ackWaitMs: delivery.ackWaitMs, maxDeliver: 50, backoffMs: [2000, 5000, 15000, 30000] })
    async validate(event: RecordedEvent<'PatchProposed'>, ctx: HandlerContext): Promise<void> {
      const { patchId } = event.data;
      const streamId = event.streamId;
      // Facts: the incident's service, its stream folded, read once per delivery.
      let service: { readonly name: string | undefined; readonly state: Promise<ServiceState> } | undefined;
      const serviceOf = (incident: IncidentState): Promise<ServiceState> => {
        const name = incident.opened?.service;
        if (!service || service.name !== name) service = { name, state: name === undefined ? Promise.resolve(serviceFold.initialState()) : this.service(name) };
        return service.state;
      };
      const command = async (incident: IncidentState): Promise<ValidatePatch> => ({ patchId, incidentStream: streamId, service: await serviceOf(incident) });

      // Decided first without the claim: a patch already judged, or one that cannot be validated, takes no lock.
      let claim: Claim | undefined;
      const claimed = async (): Promise<void> => {
        claim ??= await this.validations.claim(patchId);
        if (!claim) throw new ValidationBusyError(patchId);
      };
      const before = await this.incident(streamId);
      if (decideValidation(await command(before), before).kind === 'validate') await claimed();

      let verdict: VerdictEvent | undefined;
      try {
        let outcome: CommandOutcome<VerdictEvent>;
        try {
          outcome = await handleCommand(
            { store: this.store, streamId, fold: incidentFold, append: (events, expectedVersion) => ctx.emit(streamId, events, { expectedVersion }) },
            async (incident) => {
              // The verdict is kept across attempts: a version conflict never runs the validation twice.
              if (verdict) return decideValidation({ ...(await command(incident)), verdict }, incident);
              const decision = decideValidation(await command(incident), incident);
              if (decision.kind !== 'validate') return decision;
              // Read after the claim was taken, so another instance's verdict of meanwhile was seen.
              await claimed();
              this.logger.log(`validating patch ${patchId} of ${incident.opened?.service ?? 'an unknown service'} (delivery ${ctx.deliveryCount})`);
              verdict = await validatePatch(decision.request, { workspaces: this.workspaces, store: this.validations, settings: this.settings, now: () => performance.now() });
              return decideValidation({ ...(await command(incident)), verdict }, incident);
            },
          );
        } catch (error) {
          // An earlier attempt appended its (slightly different) verdict under the same id: done.
          if (!(error instanceof EventIdReusedError)) throw error;
          const now = await this.incident(streamId);
          const again = decideValidation(await command(now), now);
          if (again.kind !== 'ignore') throw error;
          outcome = { kind: 'ignored', because: again.because, attempts: 0 };
        }
        if (verdict) this.report(patchId, verdict, outcome);
      } finally {
        await claim?.release();
      }
    }

    private report(patchId: string, verdict: VerdictEvent, outcome: CommandOutcome<VerdictEvent>): void {
      if (outcome.kind === 'ignored') {
        this.logger.log(`patch ${patchId}: validated by this instance, but no verdict appended: ${outcome.because}`);
        return;
      }
      this.outcomes.inc({ outcome: verdict.type === 'PatchValidated' ? 'validated' : 'rejected', stage: verdict.type === 'PatchRejected' ? (verdict.data.stage ?? 'unknown') : 'none' });
      this.logger.log(`patch ${patchId}: ${verdict.type === 'PatchValidated' ? 'validated' : `rejected (${verdict.data.reason})`}`);
    }

    private async incident(streamId: string): Promise<IncidentState> {
      return foldEvents(incidentFold, (await this.store.readStream(streamId)).events);
    }

    private async service(name: string): Promise<ServiceState> {
      return foldEvents(serviceFold, (await this.store.readStream(`service-${name}`)).events);
    }
  }
  return PatchProposedHandler;
}
