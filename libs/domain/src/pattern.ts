import { isEvent, type AntibodyEvent, type EventData, type IncidentId, type JsonValue, type PatternEvent, type PatternId } from '@antibody/contracts';

/** Learning rate of a pattern's success estimate (exponential moving average). */
export const PATTERN_EMA_ALPHA = 0.1;
/** A pattern whose estimate falls below this after more than {@link PATTERN_RETIRE_AFTER_USES} uses is retired. */
export const PATTERN_RETIRE_BELOW = 0.5;
export const PATTERN_RETIRE_AFTER_USES = 10;
/** The estimate of a newly learned pattern. */
export const PATTERN_INITIAL_ESTIMATE = 1;

/** One pattern of the library, as folded from its `pattern-<id>` stream. */
export interface PatternState {
  readonly patternId: PatternId;
  readonly errorClass: string;
  readonly template: JsonValue;
  readonly source: EventData<'PatternLearned'>['source'];
  readonly incidentId?: IncidentId;
  readonly estimate: number;
  readonly uses: number;
  readonly successes: number;
  readonly failures: number;
  readonly retired: boolean;
  readonly retiredReason?: string;
}


/** The estimate after one more outcome: est + α(1 − est) on success, est − α·est on failure. */
export function nextEstimate(estimate: number, success: boolean): number {
  const next = success ? estimate + PATTERN_EMA_ALPHA * (1 - estimate) : estimate - PATTERN_EMA_ALPHA * estimate;
  return Math.round(next * 1e9) / 1e9;
}

/** True when a pattern must be retired: more than 10 uses and an estimate under 0.5. */
export function shouldRetire(state: Pick<PatternState, 'estimate' | 'uses' | 'retired'>): boolean {
  return !state.retired && state.uses > PATTERN_RETIRE_AFTER_USES && state.estimate < PATTERN_RETIRE_BELOW;
}

/** Applies one pattern event (Emmett-style evolve). Events for an unknown pattern other than PatternLearned are ignored. */
export function evolvePattern(state: PatternState | undefined, event: PatternEvent): PatternState | undefined {
  switch (event.type) {
    case 'PatternLearned':
      return {
        patternId: event.data.patternId,
        errorClass: event.data.errorClass,
        template: event.data.template,
        source: event.data.source,
        ...(event.data.incidentId ? { incidentId: event.data.incidentId } : {}),
        estimate: PATTERN_INITIAL_ESTIMATE,
        uses: 0,
        successes: 0,
        failures: 0,
        retired: false,
      };
    case 'PatternOutcomeRecorded':
      if (!state) return state;
      return {
        ...state,
        uses: state.uses + 1,
        successes: state.successes + (event.data.success ? 1 : 0),
        failures: state.failures + (event.data.success ? 0 : 1),
        estimate: event.data.successEstimate,
      };
    case 'PatternRetired':
      return state ? { ...state, retired: true, retiredReason: event.data.reason } : state;
    default: {
      const never: never = event;
      return never;
    }
  }
}

/** Folds any sequence of events (others are skipped) into the pattern library, by pattern id. */
export function foldPatternLibrary(events: Iterable<AntibodyEvent>): Map<string, PatternState> {
  const library = new Map<string, PatternState>();
  const ofPattern = isEvent('PatternLearned', 'PatternOutcomeRecorded', 'PatternRetired');
  for (const event of events) {
    if (!ofPattern(event)) continue;
    const next = evolvePattern(library.get(event.data.patternId), event);
    if (next) library.set(next.patternId, next);
  }
  return library;
}

/**
 * The events recording one more outcome of a pattern (Emmett-style decide): the outcome with the
 * new estimate, plus PatternRetired when that crosses the retirement rule. Nothing for a retired
 * pattern.
 */
export function decidePatternOutcome(state: PatternState, outcome: { incidentId: IncidentId; success: boolean }): PatternEvent[] {
  if (state.retired) return [];
  const successEstimate = nextEstimate(state.estimate, outcome.success);
  const events: PatternEvent[] = [{ type: 'PatternOutcomeRecorded', data: { patternId: state.patternId, incidentId: outcome.incidentId, success: outcome.success, successEstimate } }];
  const after = evolvePattern(state, events[0]!)!;
  if (shouldRetire(after)) {
    events.push({ type: 'PatternRetired', data: { patternId: state.patternId, reason: `success estimate ${after.estimate.toFixed(3)} < ${PATTERN_RETIRE_BELOW} after ${after.uses} uses` } });
  }
  return events;
}
