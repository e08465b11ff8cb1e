// The tier pipeline of diagnosis and patching, written once for the analyzer and the patcher:
// cheap deterministic tiers first (learned patterns, then rules or templates), each of which may
// answer; then, only when none did, a model. The pipeline is pure: instead of calling the model
// it answers "ask the model with this request", and the caller (a handler, through @antibody/fix-io's
// `askModel`) comes back with the reply, which is decided on here again. It lives in fix-kit, not
// in each service's domain, because both services run the same tiers and must escalate, meter
// and word their failures the same way; what differs (the tiers, the request, how an answer is
// accepted) is passed in.
import type { AntibodyEvent } from '@antibody/contracts';
import { FixKitError } from './errors';
import type { BudgetExceeded, Budgets, ChatMessage, GateResult, LlmCallResult, Route } from './llm';

/** A model call to make, when every cheaper tier left the case unanswered. */
export interface ModelRequest {
  readonly step: 'diagnosis' | 'patch';
  /** The service whose budgets and spend apply. */
  readonly service: string;
  /** The tier routed to. */
  readonly route: Extract<Route, { kind: 'tier' }>;
  readonly messages: readonly ChatMessage[];
  readonly budgets: Budgets;
  /** USD already metered on the incident (IncidentState.spentUsd). */
  readonly incidentSpentUsd: number;
}

/** The reply to a {@link ModelRequest}: the gate's result. */
export type ModelReply = GateResult;

/** What the pipeline appends beside the service's own events. */
export type PipelineEvent = Extract<AntibodyEvent, { type: 'LlmCallMetered' | 'IncidentEscalated' }>;

/** The last tier: a model, as the service words and accepts it. */
export interface ModelTier<E extends AntibodyEvent> {
  readonly step: 'diagnosis' | 'patch';
  /** Why the cheaper tiers did not answer: the start of every failure's reason. */
  readonly unanswered: string;
  readonly route: Route;
  readonly service: string;
  readonly messages: readonly ChatMessage[];
  readonly budgets: Budgets;
  readonly incidentSpentUsd: number;
  /**
   * The events of a model's answer, or why the answer is not used (a phrase after "the <tier>
   * tier's answer", e.g. "repeats patch 1a2b3c4d"). Throwing FixKitError rejects the answer too.
   */
  readonly accept: (result: LlmCallResult) => readonly E[] | string;
  /** The service's failure event (DiagnosisFailed, PatchFailed), with what a model cost for nothing usable. */
  readonly failed: (reason: string, costUsd?: number) => E;
}

/** What the pipeline decided: events to append, or a model to ask first. */
export type TierOutcome<E extends AntibodyEvent> =
  | { readonly kind: 'answered'; readonly events: readonly (E | PipelineEvent)[] }
  | { readonly kind: 'ask-model'; readonly request: ModelRequest };

/**
 * Tries `tiers` in order; the first that answers (events) is the answer. When none does, the
 * model tier: with no route to a tier, a failure at once; without `reply`, a request to ask the
 * model; with it, the reply decided on (metered, accepted, or a failure with its cost). Failures
 * end escalated ({@link withEscalation}).
 */
export function runTiers<E extends AntibodyEvent>(tiers: readonly (() => readonly E[] | undefined)[], model: () => ModelTier<E>, reply?: ModelReply): TierOutcome<E> {
  for (const tier of tiers) {
    const events = tier();
    if (events) return { kind: 'answered', events: withEscalation(events) };
  }
  const m = model();
  if (m.route.kind !== 'tier') return { kind: 'answered', events: withEscalation([m.failed(`${m.unanswered}; ${m.route.reason}`)]) };
  if (!reply) return { kind: 'ask-model', request: { step: m.step, service: m.service, route: m.route, messages: m.messages, budgets: m.budgets, incidentSpentUsd: m.incidentSpentUsd } };
  return { kind: 'answered', events: answerFromModel(m, reply) };
}

/** The events of a model's reply: a refusal or a failed call fails (escalated, naming the budget); a call is metered, then accepted or failed with its cost. */
export function answerFromModel<E extends AntibodyEvent>(m: ModelTier<E>, reply: ModelReply): (E | PipelineEvent)[] {
  if (reply.kind !== 'called') return withEscalation([m.failed(`${m.unanswered}; ${reply.reason}`)], reply.kind === 'refused' ? reply.budgetExceeded : undefined);
  const metered: PipelineEvent = { type: 'LlmCallMetered', data: { ...reply.metered, step: m.step } };
  let accepted: readonly E[] | string;
  try {
    accepted = m.accept(reply.result);
  } catch (e) {
    if (!(e instanceof FixKitError)) throw e;
    accepted = `was rejected: ${e.message}`;
  }
  if (typeof accepted === 'string') return withEscalation([metered, m.failed(`${m.unanswered}; the ${reply.result.tier} tier's answer ${accepted}`, reply.result.costUsd)]);
  return withEscalation([metered, ...accepted]);
}

const FAILURES = { DiagnosisFailed: { step: 'diagnosis', prefix: 'no diagnosis' }, PatchFailed: { step: 'patch', prefix: 'no patch' } } as const;

/**
 * A case the pipeline cannot take further ends escalated to a person, with the reason, in the
 * same append as the failure (DiagnosisFailed, PatchFailed): never in silence. When a policy
 * budget stopped it, `budgetExceeded` says which (the deployer then sends a "budget exceeded"
 * notice). Events that already hold an escalation, or no failure, are returned as they are.
 */
export function withEscalation<E extends AntibodyEvent>(events: readonly E[], budgetExceeded?: BudgetExceeded): (E | PipelineEvent)[] {
  const all: readonly AntibodyEvent[] = events;
  if (all.some((e) => e.type === 'IncidentEscalated')) return [...events];
  for (const e of all) {
    if (e.type !== 'DiagnosisFailed' && e.type !== 'PatchFailed') continue;
    const { step, prefix } = FAILURES[e.type];
    const reason = e.data.reason;
    return [...events, { type: 'IncidentEscalated', data: { reason: `${prefix}: ${reason}`.slice(0, 2000), step, ...(budgetExceeded ? { budgetExceeded: { ...budgetExceeded } } : {}) } }];
  }
  return [...events];
}
