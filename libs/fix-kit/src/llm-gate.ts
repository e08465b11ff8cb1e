import { FixKitError } from './errors';
import { budgetRefusal, estimateCost, exceededBudget, type BudgetExceeded, type Budgets, type LlmSettings, type Route, type Spend } from './llm';
import { callTier, type LlmCallResult } from './llm-client';

/** The data of an `LlmCallMetered` event. */
export interface MeteredCall {
  readonly model: string;
  readonly tier: string;
  readonly step: 'diagnosis' | 'patch';
  readonly promptTokens: number;
  readonly completionTokens: number;
  readonly costUsd: number;
}

export type GateResult =
  /** No call was made; `budgetExceeded` says which policy budget stopped it, when one did. */
  | { readonly kind: 'refused'; readonly reason: string; readonly budgetExceeded?: BudgetExceeded }
  | { readonly kind: 'failed'; readonly reason: string }
  | { readonly kind: 'called'; readonly result: LlmCallResult; readonly metered: MeteredCall };

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
  readonly messages: readonly { role: 'system' | 'user'; content: string }[];
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

/** USD already metered on an incident's stream. */
export function incidentSpend(events: readonly { type: string; data: unknown }[]): number {
  return events.filter((e) => e.type === 'LlmCallMetered').reduce((sum, e) => sum + Number((e.data as { costUsd?: number }).costUsd ?? 0), 0);
}
