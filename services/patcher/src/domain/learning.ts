import { ignore, incidentIdSchema, isEvent, patternIdSchema, type Decision, type EventData, type Fold, type IncidentId, type JsonValue, type PatternEvent, type RecordedEvent } from '@antibody/contracts';
import { decidePatternOutcome, evolvePattern, type IncidentState, type PatternState } from '@antibody/domain';
import type { LearnedTemplate } from '@antibody/fix-kit';

/** An outcome the learner learns from. */
export type OutcomeEvent = RecordedEvent<'IncidentResolved' | 'RolledBack' | 'PatchRejected'>;

/** A `pattern-<id>` stream folded: the pattern, and the incidents whose outcome it already recorded. */
export interface PatternStreamState {
  readonly pattern?: PatternState;
  readonly outcomesOf: readonly IncidentId[];
}

/** The fold of one pattern stream (the pattern fold of @antibody/domain, plus the incidents already counted). */
export const patternStreamFold: Fold<PatternStreamState> = {
  initialState: () => ({ outcomesOf: [] }),
  evolve: (state, event) => {
    if (!isEvent('PatternLearned', 'PatternOutcomeRecorded', 'PatternRetired')(event)) return state;
    const pattern = evolvePattern(state.pattern, event);
    const outcomesOf = event.type === 'PatternOutcomeRecorded' ? [...state.outcomesOf, event.data.incidentId] : state.outcomesOf;
    return { ...(pattern ? { pattern } : {}), outcomesOf };
  },
};

/** What an outcome teaches, read from the incident: a pattern's outcome to record, a model's fix to generalise, or nothing. */
export type Lesson =
  | { readonly kind: 'pattern-outcome'; readonly streamId: string; readonly incidentId: IncidentId; readonly success: boolean }
  | { readonly kind: 'generalise'; readonly incidentId: IncidentId; readonly proposal: EventData<'PatchProposed'>; readonly file: string; readonly baseCommit: string; readonly errorClass: string }
  | Ignored;

/** Nothing to learn, and why. */
export interface Ignored {
  readonly kind: 'ignore';
  readonly because: string;
}

const nothing = (because: string): Ignored => ({ kind: 'ignore', because });

/**
 * What an outcome teaches. A resolved incident whose fix came from a learned pattern, or a
 * rolled-back / rejected one, records the pattern's outcome; a resolved (deployed or committed)
 * incident whose one-file fix came from a model is generalised into a template. Anything else
 * teaches nothing, and says why.
 */
export function lessonOf(event: OutcomeEvent, incident: IncidentState): Lesson {
  const patchId = event.data.patchId;
  if (!patchId) return nothing(`${event.type} names no patch`);
  const success = event.type === 'IncidentResolved' ? event.data.resolution === 'deployed' || event.data.resolution === 'committed' : false;
  if (event.type === 'IncidentResolved' && !success) return nothing(`the incident was resolved ${event.data.resolution}, not by its fix`);
  const proposed = incident.patches[patchId]?.proposal.data;
  if (!proposed) return nothing(`patch ${patchId} is not proposed in the incident`);
  const incidentId = incidentIdSchema.parse(event.streamId.replace(/^incident-/, ''));
  if (proposed.source === 'pattern' && proposed.patternId) return { kind: 'pattern-outcome', streamId: `pattern-${proposed.patternId}`, incidentId, success };
  if (proposed.source === 'llm' && success && proposed.files.length === 1 && proposed.baseCommit && proposed.errorClass) {
    return { kind: 'generalise', incidentId, proposal: proposed, file: proposed.files[0]!, baseCommit: proposed.baseCommit, errorClass: proposed.errorClass };
  }
  return nothing(`a ${proposed.source} fix teaches no pattern from ${event.type}`);
}

/** Records a pattern's outcome once per incident (a redelivered resolution does not count twice); a retired pattern records nothing more. */
export function decidePatternLesson(lesson: Extract<Lesson, { kind: 'pattern-outcome' }>, state: PatternStreamState): Decision<PatternEvent> {
  if (!state.pattern) return ignore(`${lesson.streamId} holds no learned pattern`);
  if (state.outcomesOf.includes(lesson.incidentId)) return ignore(`the outcome of incident ${lesson.incidentId} is already recorded`);
  const events = decidePatternOutcome(state.pattern, { incidentId: lesson.incidentId, success: lesson.success });
  return events.length > 0 ? { kind: 'append', events } : ignore(`pattern ${state.pattern.patternId} is retired`);
}

/** Learns the generalised template of a model's fix (`template`, undefined when the fix does not generalise), once. */
export function decideLearnedPattern(
  lesson: Extract<Lesson, { kind: 'generalise' }>,
  patternId: string,
  template: LearnedTemplate | undefined,
  state: PatternStreamState,
): Decision<PatternEvent> {
  if (state.pattern) return ignore(`pattern ${patternId} is already learned from patch ${lesson.proposal.patchId}`);
  if (!template) return ignore(`the fix of patch ${lesson.proposal.patchId} does not generalise into a template`);
  const id = patternIdSchema.parse(patternId);
  const json: JsonValue = JSON.parse(JSON.stringify(template));
  return {
    kind: 'append',
    events: [{ type: 'PatternLearned', data: { patternId: id, errorClass: lesson.errorClass, template: json, source: 'incident', incidentId: lesson.incidentId, patchId: lesson.proposal.patchId } }],
  };
}
