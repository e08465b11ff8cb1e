import { foldEvents, type AntibodyEvent, type Decision, type Fold, type RecordedEvent } from '@antibody/contracts';
import { WrongExpectedVersionError, type AppendResult, type EventStore, type ExpectedVersion } from '@antibody/event-store';

/** Options of {@link handleCommand}. */
export interface HandleCommandOptions<State> {
  /** Where the stream is read from. */
  readonly store: EventStore;
  readonly streamId: string;
  /** How the stream is folded into the state the decision reads. */
  readonly fold: Fold<State>;
  /**
   * Appends the decided events at the expected version: usually the handler context's `emit`,
   * whose event ids derive from the event being handled (so a retry appends the same ids).
   */
  readonly append: (events: readonly AntibodyEvent[], expectedVersion: ExpectedVersion) => Promise<AppendResult>;
  /** Reads, decisions and appends before a version conflict is thrown to the caller (default 5). */
  readonly maxAttempts?: number;
}

/** What {@link handleCommand} did. */
export type CommandOutcome<E extends AntibodyEvent = AntibodyEvent> =
  | { readonly kind: 'appended'; readonly events: readonly E[]; readonly result: AppendResult; readonly attempts: number }
  | { readonly kind: 'ignored'; readonly because: string; readonly attempts: number };

/**
 * Runs one command against one stream, as Emmett's `handleCommand`: read the stream, fold it,
 * decide, append the decided events expecting the version that was read. When another writer
 * appended meanwhile (a version conflict), the stream is read, folded and decided on again, at
 * most `maxAttempts` times; the decision may now be to append nothing. Every outcome is named:
 * the events appended, or why nothing was.
 *
 * `decide` gets the folded state; it should be pure. A decision that needs expensive facts (code
 * read from git, a model's answer) gathers them once, before or memoised across attempts, so a
 * conflict never pays for them twice.
 *
 * @throws WrongExpectedVersionError after `maxAttempts` conflicts (the consumer retries the
 *   delivery later), and whatever `decide` or `append` throw.
 */
export async function handleCommand<State, E extends AntibodyEvent>(
  options: HandleCommandOptions<State>,
  decide: (state: State) => Decision<E> | Promise<Decision<E>>,
): Promise<CommandOutcome<E>> {
  const maxAttempts = options.maxAttempts ?? 5;
  for (let attempt = 1; ; attempt++) {
    const stream = await options.store.readStream(options.streamId);
    const state = foldEvents<State, RecordedEvent>(options.fold, stream.events);
    const decision = await decide(state);
    if (decision.kind === 'ignore') return { kind: 'ignored', because: decision.because, attempts: attempt };
    try {
      const result = await options.append(decision.events, stream.exists ? stream.currentVersion : 'no-stream');
      return { kind: 'appended', events: decision.events, result, attempts: attempt };
    } catch (error) {
      if (!(error instanceof WrongExpectedVersionError) || attempt >= maxAttempts) throw error;
    }
  }
}
