import { incidentIdSchema, isEvent, patternIdSchema, type JsonValue, type PatternEvent, type RecordedEvent } from '@antibody/contracts';
import type { EventStore } from '@antibody/event-store';
import { deterministicEventId } from '@antibody/event-store';
import { decidePatternOutcome, foldPatternLibrary } from '@antibody/domain';
import { foldService, generaliseFix, type GitRepository } from '@antibody/fix-kit';
import { applyPatch } from 'diff';

export interface LearnerDeps {
  readonly store: EventStore;
  readonly openRepository: (location: string) => GitRepository;
}

/** Events to append to one stream. */
export interface LearnedEvents {
  readonly streamId: string;
  readonly events: readonly PatternEvent[];
}

/**
 * Learns from outcomes. A resolved incident whose fix came from a learned pattern, or a
 * rolled-back / rejected one, records the pattern's outcome (EMA, counts, retirement). A
 * resolved incident whose fix came from the LLM is generalised into a syntax-tree template
 * (PatternLearned), so the next error of that class is fixed without a model call.
 */
export class Learner {
  constructor(private readonly deps: LearnerDeps) {}

  async learn(event: RecordedEvent<'IncidentResolved' | 'RolledBack' | 'PatchRejected'>): Promise<LearnedEvents | undefined> {
    const patchId = event.data.patchId;
    if (!patchId) return undefined;
    const success = event.type === 'IncidentResolved' ? event.data.resolution === 'deployed' || event.data.resolution === 'committed' : false;
    if (event.type === 'IncidentResolved' && !success) return undefined;
    const incident = await this.deps.store.readStream(event.streamId);
    const proposed = incident.events.filter(isEvent('PatchProposed')).find((e) => e.data.patchId === patchId)?.data;
    if (!proposed) return undefined;
    const incidentId = incidentIdSchema.parse(event.streamId.replace(/^incident-/, ''));

    if (proposed.source === 'pattern' && proposed.patternId) {
      const streamId = `pattern-${proposed.patternId}`;
      const history = (await this.deps.store.readStream(streamId)).events;
      // One outcome per incident: a redelivered resolution must not count twice.
      if (history.some((e) => e.type === 'PatternOutcomeRecorded' && e.data.incidentId === incidentId)) return undefined;
      const state = foldPatternLibrary(history).get(proposed.patternId);
      if (!state) return undefined;
      return { streamId, events: decidePatternOutcome(state, { incidentId, success }) };
    }

    if (proposed.source === 'llm' && success && proposed.files.length === 1 && proposed.baseCommit && proposed.errorClass) {
      const file = proposed.files[0]!;
      const opened = incident.events.find(isEvent('IncidentOpened'))?.data;
      const service = opened && foldService((await this.deps.store.readStream(`service-${opened.service}`)).events);
      if (!service) return undefined;
      const before = await this.deps.openRepository(service.repository.url).readFile(proposed.baseCommit, file);
      if (before === undefined) return undefined;
      const after = applyPatch(before, proposed.diff);
      if (after === false) return undefined;
      const template = generaliseFix(file, before, after);
      if (!template) return undefined;
      const patternId = patternIdSchema.parse(deterministicEventId(proposed.patchId, 'patcher.learned-pattern'));
      return {
        streamId: `pattern-${patternId}`,
        events: [{ type: 'PatternLearned', data: { patternId, errorClass: proposed.errorClass, template: template as unknown as JsonValue, source: 'incident', incidentId, patchId: proposed.patchId } }],
      };
    }
    return undefined;
  }
}
