import { Inject, Injectable, Logger, type Type } from '@nestjs/common';
import type { EventData } from '@antibody/contracts';
import { EVENT_STORE, OnEvent } from '@antibody/bus/nest';
import type { HandlerContext } from '@antibody/bus';
import { EventIdReusedError, type EventStore, type StoredEvent } from '@antibody/event-store';
import { MetricsService } from '@antibody/platform';
import type { CapturedFailure } from '../domain/reproduction';
import { ValidationStore } from '../infrastructure/validation-store';
import { Workspaces } from '../infrastructure/workspace';
import { validatePatch, type ServiceUnderCare, type ValidationSettings, type VerdictEvent } from './validate-patch';

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

const VERDICTS = new Set(['PatchValidated', 'PatchRejected']);

/** What the incident and service streams say about a proposed patch. */
interface Facts {
  readonly verdictExists: boolean;
  readonly service?: ServiceUnderCare;
  readonly serviceProblem?: string;
  readonly release?: string;
  readonly failure?: CapturedFailure;
}

/**
 * Builds the provider that reacts to `PatchProposed` (a class per configuration: the consumer's
 * concurrency and ack wait are decorator arguments). For each proposed patch it appends exactly
 * one `PatchValidated` or `PatchRejected` to the incident's stream:
 *
 * - the verdict's id derives from the PatchProposed event (ctx.emit), and the stream is checked
 *   for an existing verdict before and after claiming the work, so redelivery never doubles it;
 * - the work is claimed with a Postgres session lock held for the whole validation: a process
 *   killed mid-run loses it at once, and the redelivered event is taken over by another instance;
 *   an instance that finds the lock held throws {@link ValidationBusyError} (retry with backoff).
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
    async validate(event: StoredEvent, ctx: HandlerContext): Promise<void> {
      const data = event.data as EventData<'PatchProposed'>;
      const facts = await this.facts(event.streamId, data.patchId);
      if (facts.verdictExists) return;
      if (!facts.service) {
        await this.emit(event, ctx, data.patchId, {
          type: 'PatchRejected',
          data: { patchId: data.patchId, reason: facts.serviceProblem ?? 'The service under care is unknown.', failingTests: [], stage: 'prepare' },
        });
        return;
      }
      const claim = await this.validations.claim(data.patchId);
      if (!claim) throw new ValidationBusyError(data.patchId);
      try {
        if ((await this.facts(event.streamId, data.patchId)).verdictExists) return;
        this.logger.log(`validating patch ${data.patchId} of ${facts.service.name} (delivery ${ctx.deliveryCount})`);
        const verdict = await validatePatch(
          { patchId: data.patchId, diff: data.diff, service: facts.service, release: facts.release, failure: facts.failure },
          { workspaces: this.workspaces, store: this.validations, settings: this.settings, now: () => performance.now() },
        );
        await this.emit(event, ctx, data.patchId, verdict);
        this.outcomes.inc({ outcome: verdict.type === 'PatchValidated' ? 'validated' : 'rejected', stage: verdict.type === 'PatchRejected' ? (verdict.data.stage ?? 'unknown') : 'none' });
        this.logger.log(`patch ${data.patchId}: ${verdict.type === 'PatchValidated' ? 'validated' : `rejected (${verdict.data.reason})`}`);
      } finally {
        await claim.release();
      }
    }

    private async emit(event: StoredEvent, ctx: HandlerContext, patchId: string, verdict: VerdictEvent): Promise<void> {
      try {
        await ctx.emit(event.streamId, [verdict]);
      } catch (error) {
        // An earlier attempt appended its (slightly different) verdict under the same id: done.
        if (error instanceof EventIdReusedError && (await this.facts(event.streamId, patchId)).verdictExists) return;
        throw error;
      }
    }

    private async facts(incidentStream: string, patchId: string): Promise<Facts> {
      const incident = await this.store.readStream(incidentStream);
      const verdictExists = incident.events.some((e) => VERDICTS.has(e.type) && (e.data as { patchId?: string }).patchId === patchId);
      const opened = incident.events.find((e) => e.type === 'IncidentOpened')?.data as EventData<'IncidentOpened'> | undefined;
      const recorded = [...incident.events].reverse().find((e) => e.type === 'ErrorRecorded')?.data as EventData<'ErrorRecorded'> | undefined;
      if (!opened) return { verdictExists, serviceProblem: `The incident stream ${incidentStream} has no IncidentOpened event, so the service and release are unknown.` };
      const failure: CapturedFailure | undefined = recorded
        ? { exception: recorded.exception, frames: recorded.frames, ...(recorded.request ? { request: recorded.request } : {}) }
        : undefined;
      const serviceStream = await this.store.readStream(`service-${opened.service}`);
      let service: ServiceUnderCare | undefined;
      let serviceProblem: string | undefined = `The service "${opened.service}" is not registered (no ServiceRegistered event in service-${opened.service}).`;
      for (const e of serviceStream.events) {
        if (e.type === 'ServiceRegistered') {
          const d = e.data as EventData<'ServiceRegistered'>;
          service = { name: d.name, repository: d.repository, commands: d.commands, policy: d.policy };
          serviceProblem = undefined;
        } else if (e.type === 'ServicePolicyChanged' && service) {
          service = { ...service, policy: (e.data as EventData<'ServicePolicyChanged'>).policy };
        } else if (e.type === 'ServiceDeregistered') {
          service = undefined;
          serviceProblem = `The service "${opened.service}" was deregistered.`;
        }
      }
      return { verdictExists, service, serviceProblem, release: opened.release, failure };
    }
  }
  return PatchProposedHandler;
}
