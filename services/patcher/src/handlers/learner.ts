import { foldEvents, type AntibodyEvent, type Decision, type PatternEvent } from '@antibody/contracts';
import { handleCommand, type CommandOutcome } from '@antibody/bus';
import { deterministicEventId, type AppendResult, type EventStore, type ExpectedVersion } from '@antibody/event-store';
import { incidentFold, serviceFold, underCare } from '@antibody/domain';
import { generaliseFix } from '@antibody/fix-kit';
import type { GitRepository } from '@antibody/fix-io';
import { applyPatch } from 'diff';
import { decideLearnedPattern, decidePatternLesson, lessonOf, patternStreamFold, type Ignored, type Lesson, type OutcomeEvent, type PatternStreamState } from '../domain/learning';

export interface LearnerDeps {
  readonly store: EventStore;
  readonly openRepository: (location: string) => GitRepository;
}

/** What the learner decided: events for one pattern stream, or nothing and why. */
export type Learned = { readonly kind: 'append'; readonly streamId: string; readonly events: readonly PatternEvent[] } | { readonly kind: 'ignore'; readonly because: string };

/**
 * Learns from outcomes (see `lessonOf`): the incident is read through the incident fold, the
 * pattern stream through the pattern fold, and the decision is pure. A model's fix is generalised
 * from the file at its base commit (git), read once per outcome.
 */
export class Learner {
  constructor(private readonly deps: LearnerDeps) {}

  /** Decides on `event` and appends to the pattern's stream at the version it was decided at. */
  async handle(event: OutcomeEvent, append: (streamId: string, events: readonly AntibodyEvent[], expectedVersion: ExpectedVersion) => Promise<AppendResult>): Promise<CommandOutcome<PatternEvent> | Learned> {
    const lesson = await this.lesson(event);
    if (lesson.kind === 'ignore') return lesson;
    const { streamId, decide } = await this.decider(lesson);
    return handleCommand<PatternStreamState, PatternEvent>({ store: this.deps.store, streamId, fold: patternStreamFold, append: (events, v) => append(streamId, events, v) }, decide);
  }

  /** What would be decided on `event` now, without appending. */
  async learn(event: OutcomeEvent): Promise<Learned> {
    const lesson = await this.lesson(event);
    if (lesson.kind === 'ignore') return lesson;
    const { streamId, decide } = await this.decider(lesson);
    const decision = decide(foldEvents(patternStreamFold, (await this.deps.store.readStream(streamId)).events));
    return decision.kind === 'append' ? { kind: 'append', streamId, events: decision.events } : decision;
  }

  private async lesson(event: OutcomeEvent): Promise<Lesson> {
    return lessonOf(event, foldEvents(incidentFold, (await this.deps.store.readStream(event.streamId)).events));
  }

  private async decider(lesson: Exclude<Lesson, { kind: 'ignore' }>): Promise<{ streamId: string; decide: (state: PatternStreamState) => Decision<PatternEvent> }> {
    if (lesson.kind === 'pattern-outcome') return { streamId: lesson.streamId, decide: (state) => decidePatternLesson(lesson, state) };
    const patternId = deterministicEventId(lesson.proposal.patchId, 'patcher.learned-pattern');
    const streamId = `pattern-${patternId}`;
    const template = await this.generalise(lesson);
    return { streamId, decide: (state) => (template.kind === 'ignore' ? template : decideLearnedPattern(lesson, patternId, template.template, state)) };
  }

  /** The model's fix generalised from the file at its base commit. */
  private async generalise(lesson: Extract<Lesson, { kind: 'generalise' }>): Promise<{ kind: 'template'; template: ReturnType<typeof generaliseFix> } | Ignored> {
    const incident = foldEvents(incidentFold, (await this.deps.store.readStream(`incident-${lesson.incidentId}`)).events);
    const name = incident.opened?.service;
    const registration = name ? underCare(foldEvents(serviceFold, (await this.deps.store.readStream(`service-${name}`)).events)) : undefined;
    if (!registration) return skip(`service ${name ?? '?'} is not under care: its repository is not read`);
    const before = await this.deps.openRepository(registration.repository.url).readFile(lesson.baseCommit, lesson.file);
    if (before === undefined) return skip(`${lesson.file} does not exist at ${lesson.baseCommit.slice(0, 12)}`);
    const after = applyPatch(before, lesson.proposal.diff);
    if (after === false) return skip(`the diff of patch ${lesson.proposal.patchId} does not apply to ${lesson.file} at ${lesson.baseCommit.slice(0, 12)}`);
    return { kind: 'template', template: generaliseFix(lesson.file, before, after) };
  }
}

const skip = (because: string): Ignored => ({ kind: 'ignore', because });
