import type { EventStore, StoredEvent } from '@antibody/event-store';
import { deterministicEventId } from '@antibody/event-store';
import { decidePatternOutcome, evolvePattern, foldService, generaliseFix, type GitRepository, type PatternEventInput, type PatternState } from '@antibody/fix-kit';
import { applyPatch } from 'diff';

export interface LearnerDeps {
  readonly store: EventStore;
  readonly openRepository: (location: string) => GitRepository;
}

/** Events to append to one stream. */
export interface LearnedEvents {
  readonly streamId: string;
  readonly events: readonly PatternEventInput[];
}

interface Proposed {
  patchId: string;
  source: 'template' | 'pattern' | 'llm';
  patternId?: string;
  diff: string;
  files: string[];
  baseCommit?: string;
  errorClass?: string;
}

/**
 * Learns from outcomes. A resolved incident whose fix came from a learned pattern, or a
 * rolled-back / rejected one, records the pattern's outcome (EMA, counts, retirement). A
 * resolved incident whose fix came from the LLM is generalised into a syntax-tree template
 * (PatternLearned), so the next error of that class is fixed without a model call.
 */
export class Learner {
  constructor(private readonly deps: LearnerDeps) {}

  async learn(event: StoredEvent): Promise<LearnedEvents | undefined> {
    const data = event.data as { patchId?: string; resolution?: string };
    if (!data.patchId) return undefined;
    const success = event.type === 'IncidentResolved' ? data.resolution === 'deployed' || data.resolution === 'committed' : false;
    if (event.type === 'IncidentResolved' && !success) return undefined;
    const incident = await this.deps.store.readStream(event.streamId);
    const proposed = incident.events.find((e) => e.type === 'PatchProposed' && (e.data as Proposed).patchId === data.patchId)?.data as Proposed | undefined;
    if (!proposed) return undefined;
    const incidentId = event.streamId.replace(/^incident-/, '');

    if (proposed.source === 'pattern' && proposed.patternId) {
      const streamId = `pattern-${proposed.patternId}`;
      const history = (await this.deps.store.readStream(streamId)).events;
      // One outcome per incident: a redelivered resolution must not count twice.
      if (history.some((e) => e.type === 'PatternOutcomeRecorded' && (e.data as { incidentId?: string }).incidentId === incidentId)) return undefined;
      let state: PatternState | undefined;
      for (const e of history) state = evolvePattern(state, e as unknown as PatternEventInput);
      if (!state) return undefined;
      return { streamId, events: decidePatternOutcome(state, { incidentId, success }) };
    }

    if (proposed.source === 'llm' && success && proposed.files.length === 1 && proposed.baseCommit && proposed.errorClass) {
      const file = proposed.files[0]!;
      const opened = incident.events.find((e) => e.type === 'IncidentOpened')?.data as { service: string } | undefined;
      const service = opened && foldService((await this.deps.store.readStream(`service-${opened.service}`)).events);
      if (!service) return undefined;
      const before = await this.deps.openRepository(service.repository.url).readFile(proposed.baseCommit, file);
      if (before === undefined) return undefined;
      const after = applyPatch(before, proposed.diff);
      if (after === false) return undefined;
      const template = generaliseFix(file, before, after);
      if (!template) return undefined;
      const patternId = deterministicEventId(proposed.patchId, 'patcher.learned-pattern');
      return {
        streamId: `pattern-${patternId}`,
        events: [{ type: 'PatternLearned', data: { patternId, errorClass: proposed.errorClass, template: template as unknown as PatternState['template'], source: 'incident', incidentId, patchId: proposed.patchId } }],
      };
    }
    return undefined;
  }
}
