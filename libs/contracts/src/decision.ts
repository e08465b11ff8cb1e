import type { AntibodyEvent } from './events';
import type { RecordedEvent } from './recorded';

/**
 * How a stream is read: `evolve` folds each recorded event into the state, from `initialState()`.
 * Pure: the same events always give the same state (Emmett's decider, read side).
 */
export interface Fold<State, E extends { readonly type: string } = RecordedEvent> {
  initialState(): State;
  evolve(state: State, event: E): State;
}

/**
 * What a decision says about a stream: append these events, or append nothing for a named reason
 * ("already diagnosed", "the service is deregistered"), never a silent `undefined`.
 */
export type Decision<E extends AntibodyEvent = AntibodyEvent> =
  | { readonly kind: 'append'; readonly events: readonly E[] }
  | { readonly kind: 'ignore'; readonly because: string };

/** A decision to append `events` (at least one). */
export function appendEvents<E extends AntibodyEvent>(...events: [E, ...E[]]): Decision<E> {
  return { kind: 'append', events };
}

/** A decision to append nothing, and why. */
export function ignore(because: string): Decision<never> {
  return { kind: 'ignore', because };
}

/** Folds events into a state with a {@link Fold}. */
export function foldEvents<State, E extends { readonly type: string }>(fold: Fold<State, E>, events: readonly E[]): State {
  let state = fold.initialState();
  for (const event of events) state = fold.evolve(state, event);
  return state;
}
