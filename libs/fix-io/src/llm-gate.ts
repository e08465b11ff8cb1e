import { budgetRefusal, estimateCost, exceededBudget, FixKitError, type Budgets, type ChatMessage, type GateResult, type LlmSettings, type ModelReply, type ModelRequest, type Route, type Spend } from '@antibody/fix-kit';
import { callTier } from './llm-client';
import type { FixLedger } from './ledger';

/**
 * One model call behind the gates: the route must name a tier, and the per-incident, daily and
 * monthly budgets must hold after the call's worst-case cost — checked before calling. The
 * result carries the `LlmCallMetered` data to record (even when the reply is then rejected:
 * the spend happened). An endpoint failure is a `failed` result, not an exception.
 */
export async function gatedCall(input: {
  readonly settings: LlmSettings;
  readonly route: Route;
  readonly budgets: Budgets;
  readonly spend: Spend;
  readonly messages: readonly ChatMessage[];
  readonly step: 'diagnosis' | 'patch';
  readonly timeoutMs?: number;
}): Promise<GateResult> {
  const { route, settings } = input;
  if (route.kind !== 'tier') return { kind: 'refused', reason: route.reason };
  const maxOutputTokens = settings.maxOutputTokens ?? 1200;
  const promptChars = input.messages.reduce((n, m) => n + m.content.length, 0);
  const estimate = estimateCost(route.config.model, promptChars, maxOutputTokens, settings.prices);
  const exceeded = exceededBudget(input.spend, input.budgets, estimate);
  if (exceeded) return { kind: 'refused', reason: `${budgetRefusal(input.spend, input.budgets, estimate)!}; no ${route.tier} tier call was made`, budgetExceeded: exceeded };
  try {
    const result = await callTier(route.tier, route.config, input.messages, { prices: settings.prices, maxOutputTokens, timeoutMs: input.timeoutMs });
    return {
      kind: 'called',
      result,
      metered: { model: result.model, tier: result.tier, step: input.step, promptTokens: result.promptTokens, completionTokens: result.completionTokens, costUsd: result.costUsd },
    };
  } catch (error) {
    if (error instanceof FixKitError) return { kind: 'failed', reason: error.message };
    throw error;
  }
}

/** What {@link modelCaller} needs: the tiers' settings, the ledger (spend per service) and the clock. */
export interface ModelCallerDeps {
  readonly settings: LlmSettings;
  readonly ledger: Pick<FixLedger, 'catchUp' | 'serviceSpend'>;
  readonly now: () => Date;
}

/**
 * Answers a pipeline's {@link ModelRequest} (see `runTiers` in @antibody/fix-kit), the one place
 * the analyzer and the patcher pay a model: the service's spend today and this month is read
 * from the ledger once it caught up (a ledger that cannot catch up throws, so the delivery is
 * retried: never an unchecked call), then the call is made through {@link gatedCall}.
 */
export function modelCaller(deps: ModelCallerDeps): (request: ModelRequest) => Promise<ModelReply> {
  return async (request) => {
    const day = deps.now().toISOString().slice(0, 10);
    await deps.ledger.catchUp();
    const spent = await deps.ledger.serviceSpend(request.service, day);
    return gatedCall({
      settings: deps.settings,
      route: request.route,
      budgets: request.budgets,
      spend: { incident: request.incidentSpentUsd, ...spent },
      messages: request.messages,
      step: request.step,
    });
  };
}
