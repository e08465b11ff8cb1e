import { v5 as uuidv5 } from 'uuid';
import { foldEvents, type EventData, type EventMetadata, type EventType, type Fold, type RecordedEvent } from '@antibody/contracts';

/** A decision under test: the fold of its stream and a pure `decide(command, state)`. */
export interface DeciderUnderTest<State, Command, Output, E extends { readonly type: string } = RecordedEvent> {
  readonly fold: Fold<State, E>;
  decide(command: Command, state: State): Output;
}

/** What `given(...).when(...)` can assert. */
export interface DeciderThen<Output> {
  /** The decision equals `expected` (deep equality). */
  then(expected: Output): void;
  /** The decision contains `expected` (jest's `toMatchObject`: a subset of fields, arrays element by element). */
  thenMatches(expected: Partial<Output> | Record<string, unknown>): void;
  /** Deciding throws (an error matching `expected` when given). */
  thenThrows(expected?: string | RegExp | (new (...args: never[]) => Error)): void;
  /** The decision itself, for assertions of one's own. */
  readonly decision: () => Output;
}

/**
 * Given/when/then for deciders, as Emmett's `DeciderSpecification`: the given events are folded
 * into the state, the command is decided on, and the outcome is compared. Specs read like the
 * requirement they check:
 *
 * ```ts
 * const spec = deciderSpec({ fold: incidentFold, decide: decideRediagnosis });
 * spec.given([opened, sample, diagnosed, proposedP, rolledBackP, requested]).when({ requestId, maxRounds: 2 })
 *   .thenMatches({ kind: 'diagnose', exclude: [P] });
 * ```
 */
export function deciderSpec<State, Command, Output, E extends { readonly type: string } = RecordedEvent>(decider: DeciderUnderTest<State, Command, Output, E>) {
  return {
    given(events: readonly E[]) {
      return {
        when(command: Command): DeciderThen<Output> {
          const decision = () => decider.decide(command, foldEvents(decider.fold, events));
          return {
            then: (expected) => expect(decision()).toEqual(expected),
            thenMatches: (expected) => expect(decision()).toMatchObject(expected as Record<string, unknown>),
            thenThrows: (expected) => expect(decision).toThrow(expected),
            decision,
          };
        },
      };
    },
  };
}

const STREAM_NAMESPACE = '5f0b3f5e-4c6a-4c55-9d0e-8a4f3f1d2c6b';

/** Builds the recorded events of one test stream, with versions, ids and metadata filled in. */
export interface TestStream {
  readonly streamId: string;
  /** The next event of the stream: version = events so far, id derived from (stream, version). */
  event<T extends EventType>(type: T, data: EventData<T>, metadata?: Partial<EventMetadata>): RecordedEvent<T>;
}

/**
 * A stream of recorded events for deciders' and folds' specs (no store): `const s = testStream('incident-<id>');
 * const opened = s.event('IncidentOpened', {...})`. Event ids are deterministic uuids, so a spec can
 * name the event a decision must refer to.
 */
export function testStream(streamId: string): TestStream {
  let version = 0;
  let previous: string | null = null;
  return {
    streamId,
    event<T extends EventType>(type: T, data: EventData<T>, metadata: Partial<EventMetadata> = {}): RecordedEvent<T> {
      const streamVersion = version++;
      const eventId = uuidv5(`${streamId}:${streamVersion}`, STREAM_NAMESPACE);
      const event = {
        eventId,
        type,
        schemaVersion: 1,
        data,
        streamId,
        streamVersion,
        globalPosition: String(streamVersion + 1),
        transactionId: '1',
        metadata: { correlationId: streamId, causationId: previous, producer: { service: 'test', instance: 'test-1' }, occurredAt: new Date(Date.UTC(2026, 0, 1, 0, 0, streamVersion)).toISOString(), ...metadata },
        recordedAt: new Date(Date.UTC(2026, 0, 1, 0, 0, streamVersion)).toISOString(),
        prevHash: '0'.repeat(64),
        hash: '0'.repeat(64),
      };
      previous = eventId;
      return event as RecordedEvent<T>;
    },
  };
}
