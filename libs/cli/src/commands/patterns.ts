import type { RecordedEvent } from '@antibody/contracts';
import { START, type EventStore } from '@antibody/event-store';
import { foldPatternLibrary, type PatternState } from '@antibody/domain';
import type { Output } from '../output';

/** Reads the whole log in pages (gap-safe), keeping the events `keep` selects. */
export async function readLog(store: EventStore, keep: (event: RecordedEvent) => boolean): Promise<RecordedEvent[]> {
  const kept: RecordedEvent[] = [];
  let after = START;
  for (;;) {
    const page = await store.readAll({ after, limit: 1000 });
    for (const e of page.events) if (keep(e)) kept.push(e);
    if (page.events.length === 0) return kept;
    after = page.checkpoint;
  }
}

export interface PatternsOptions {
  readonly json?: boolean;
  /** Include retired patterns (default: they are listed too, marked retired). */
  readonly active?: boolean;
}

/**
 * Prints the learned-pattern library, rebuilt from the event log (PatternLearned,
 * PatternOutcomeRecorded, PatternRetired): success estimate (EMA, α = 0.1), uses, successes,
 * failures and status, best estimate first.
 */
export async function patterns(store: EventStore, options: PatternsOptions, out: Output): Promise<void> {
  const events = await readLog(store, (e) => e.type === 'PatternLearned' || e.type === 'PatternOutcomeRecorded' || e.type === 'PatternRetired');
  const library = [...foldPatternLibrary(events).values()]
    .filter((p) => !options.active || !p.retired)
    .sort((a, b) => Number(a.retired) - Number(b.retired) || b.estimate - a.estimate || a.patternId.localeCompare(b.patternId));
  if (options.json) {
    out.line(JSON.stringify(library, null, 2));
    return;
  }
  if (library.length === 0) {
    out.note('no patterns learned yet');
    return;
  }
  const rows = library.map((p: PatternState) => [
    p.patternId.slice(0, 8),
    p.errorClass,
    p.source,
    p.estimate.toFixed(3),
    String(p.uses),
    String(p.successes),
    String(p.failures),
    p.retired ? `retired (${p.retiredReason ?? ''})` : 'active',
  ]);
  const header = ['PATTERN', 'ERROR CLASS', 'SOURCE', 'ESTIMATE', 'USES', 'OK', 'FAILED', 'STATUS'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (cells: readonly string[]): string => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  out.line(fmt(header));
  for (const r of rows) out.line(fmt(r));
}
