import { isEvent } from '@antibody/contracts';
import type { EventStore } from '@antibody/event-store';
import { usageError } from '../errors';
import type { Output } from '../output';
import { readLog } from './patterns';

export interface CostReportOptions {
  /** `YYYY-MM` (UTC); default the current month. */
  readonly month?: string;
  /** Price one LLM fix at this many USD for the savings estimate when the month has no LLM fix to learn it from. */
  readonly llmFixCost?: number;
  readonly json?: boolean;
}

/** The month's fixes by source, LLM spend and the savings of fixing without a model. */
export interface CostReport {
  readonly month: string;
  /** Incidents whose best proposal (rank 1) came from each source. */
  readonly fixesBySource: { template: number; pattern: number; llm: number };
  readonly failed: number;
  readonly llm: { readonly calls: number; readonly costUsd: number; readonly byTier: Record<string, { calls: number; costUsd: number }> };
  /** Mean LLM spend of an incident fixed by the LLM (diagnosis + patch calls), if any this month. */
  readonly costPerLlmFixUsd: number | undefined;
  /** Template and pattern fixes x cost per LLM fix: what they would have cost through a model. */
  readonly savingsUsd: number | undefined;
}

/**
 * `antibody report costs --month YYYY-MM`: folds the month's PatchProposed / PatchFailed /
 * LlmCallMetered events (by their recording time, UTC) into fixes by source, spend by tier and
 * estimated savings. Throws a usage error for a malformed month.
 */
export async function costReport(store: EventStore, options: CostReportOptions, out: Output, now: Date = new Date()): Promise<CostReport> {
  const month = options.month ?? now.toISOString().slice(0, 7);
  if (!/^\d{4}-(0[1-9]|1[0-2])$/.test(month)) throw usageError(`--month must be YYYY-MM (got ${month})`);
  const counted = isEvent('PatchProposed', 'PatchFailed', 'LlmCallMetered');
  const events = (await readLog(store, (e) => e.recordedAt.startsWith(month) && counted(e))).filter(counted);
  const fixesBySource = { template: 0, pattern: 0, llm: 0 };
  const llmFixed = new Set<string>();
  let failed = 0;
  const byTier: Record<string, { calls: number; costUsd: number }> = {};
  const spendByIncident = new Map<string, number>();
  let calls = 0;
  let costUsd = 0;
  for (const e of events) {
    if (e.type === 'PatchProposed') {
      if (e.data.rank !== 1) continue;
      const source = e.data.source;
      fixesBySource[source] += 1;
      if (source === 'llm') llmFixed.add(e.streamId);
    } else if (e.type === 'PatchFailed') failed += 1;
    else {
      const cost = e.data.costUsd;
      const tier = e.data.tier;
      calls += 1;
      costUsd += cost;
      byTier[tier] = { calls: (byTier[tier]?.calls ?? 0) + 1, costUsd: (byTier[tier]?.costUsd ?? 0) + cost };
      spendByIncident.set(e.streamId, (spendByIncident.get(e.streamId) ?? 0) + cost);
    }
  }
  const llmFixSpend = [...llmFixed].reduce((sum, id) => sum + (spendByIncident.get(id) ?? 0), 0);
  const costPerLlmFixUsd = llmFixed.size > 0 ? llmFixSpend / llmFixed.size : options.llmFixCost;
  const savingsUsd = costPerLlmFixUsd !== undefined ? (fixesBySource.template + fixesBySource.pattern) * costPerLlmFixUsd : undefined;
  const report: CostReport = { month, fixesBySource, failed, llm: { calls, costUsd, byTier }, costPerLlmFixUsd, savingsUsd };
  if (options.json) {
    out.line(JSON.stringify(report, null, 2));
    return report;
  }
  const usd = (x: number): string => `$${x.toFixed(4)}`;
  const total = fixesBySource.template + fixesBySource.pattern + fixesBySource.llm;
  out.line(`Fixes and LLM costs, ${month}`);
  out.line(`fixes proposed: ${total}  (template ${fixesBySource.template}, learned pattern ${fixesBySource.pattern}, llm ${fixesBySource.llm}); no fix: ${failed}`);
  out.line(`llm calls: ${calls}, cost ${usd(costUsd)}`);
  for (const [tier, t] of Object.entries(byTier).sort()) out.line(`  ${tier.padEnd(10)} ${String(t.calls).padStart(5)} calls  ${usd(t.costUsd)}`);
  if (costPerLlmFixUsd === undefined) out.line('savings: n/a (no LLM-sourced fix this month to price one; pass --llm-fix-cost <usd>)');
  else out.line(`savings: ${usd(savingsUsd ?? 0)} (${fixesBySource.template + fixesBySource.pattern} fixes without a model x ${usd(costPerLlmFixUsd)} per LLM fix${llmFixed.size > 0 ? '' : ', as given'})`);
  return report;
}
