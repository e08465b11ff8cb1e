import type { z } from 'zod';
import { EventContractError } from './errors';
import {
  deadLetterEventSchemas,
  eventSchemas,
  fleetEventSchemas,
  noticeEventSchemas,
  incidentEventSchemas,
  operatorIncidentEventSchemas,
  tokenEventSchemas,
  patternEventSchemas,
  serviceEventSchemas,
  type EventData,
  type EventType,
} from './events';
import type { EventCategory } from './streams';
import { failureFrom, type ValidationFailure, type ValidationResult } from './validation';

/** A service (or tool) that appends events. */
export type EventProducer = 'ingest' | 'analyzer' | 'patcher' | 'validator' | 'deployer' | 'fleet-agent' | 'learning' | 'cli' | 'bus' | 'console';

/** What the catalog knows about one event type. */
export interface EventDefinition {
  /** PascalCase, past tense. */
  type: string;
  /** Current version of the data schema (versions start at 1). */
  schemaVersion: number;
  /** Stream category: `incident`, `service`, `pattern`, `fleet`, `deadletter`, `notice`, `token`. */
  category: string;
  /** One sentence: what happened. */
  description: string;
  /** Data schema of the current version. */
  schema: z.ZodType;
  /** Which services append it. */
  producedBy: readonly string[];
}

/** The event types Antibody knows, their schemas, and the upcasters that bring old data up to date. */
export interface EventCatalog {
  /** Every definition, in catalog order (by category, then along the loop). */
  readonly definitions: readonly EventDefinition[];
  /** True when the catalog knows the type. */
  has(type: string): boolean;
  /** The definition of a type, or undefined when unknown. */
  definition(type: string): EventDefinition | undefined;
  /**
   * Validates data for (type, schemaVersion) against that version's schema. Never throws.
   * Unknown type -> `{ ok: false, path: 'type', message: 'unknown event type "X"' }`.
   * Unsupported version -> path `schemaVersion`. Invalid data -> the first failing `data.*` path.
   * Unknown keys in data are tolerated (a newer producer may add optional fields).
   */
  validate(type: string, schemaVersion: number, data: unknown): ValidationResult;
  /**
   * Upcasts stored data of an older schemaVersion to the current one by running the chain of
   * per-version upcasters (v1 -> v2 -> ... -> current); data at the current version is returned
   * as is. Does not validate. Throws {@link EventContractError} `UNKNOWN_EVENT_TYPE` or
   * `UNSUPPORTED_SCHEMA_VERSION`.
   */
  upcast(type: string, schemaVersion: number, data: unknown): { schemaVersion: number; data: unknown };
}

/** An older schema version of an event and the function that lifts its data one version up. */
export interface PreviousVersion {
  schemaVersion: number;
  schema: z.ZodType;
  /** Turns data valid at `schemaVersion` into data valid at `schemaVersion + 1`. Must be pure. */
  upcast: (data: unknown) => unknown;
}

/** A definition together with the older versions it can still read. */
export interface VersionedEventDefinition extends EventDefinition {
  /** Exactly versions 1 .. schemaVersion-1, in any order; empty at version 1. */
  previousVersions: readonly PreviousVersion[];
}

const PASCAL_CASE = /^[A-Z][A-Za-z0-9]*$/;

/**
 * Builds a catalog from versioned definitions. Throws {@link EventContractError} `INVALID_CATALOG`
 * on a duplicate or non-PascalCase type, or a version chain with a gap.
 */
export function createEventCatalog(entries: readonly VersionedEventDefinition[]): EventCatalog {
  const byType = new Map<string, { definition: EventDefinition; versions: Map<number, PreviousVersion> }>();
  for (const entry of entries) {
    if (!PASCAL_CASE.test(entry.type)) {
      throw new EventContractError('INVALID_CATALOG', `event type "${entry.type}" must be PascalCase`);
    }
    if (byType.has(entry.type)) throw new EventContractError('INVALID_CATALOG', `event type "${entry.type}" is defined twice`);
    if (!Number.isInteger(entry.schemaVersion) || entry.schemaVersion < 1) {
      throw new EventContractError('INVALID_CATALOG', `event type "${entry.type}" has schemaVersion ${entry.schemaVersion}; versions are integers from 1`);
    }
    const versions = new Map(entry.previousVersions.map((previous) => [previous.schemaVersion, previous]));
    for (let version = 1; version < entry.schemaVersion; version++) {
      if (!versions.has(version)) {
        throw new EventContractError('INVALID_CATALOG', `event type "${entry.type}" has no upcaster from schemaVersion ${version}`);
      }
    }
    if (versions.size !== entry.schemaVersion - 1) {
      throw new EventContractError('INVALID_CATALOG', `event type "${entry.type}" lists previous versions outside 1..${entry.schemaVersion - 1}`);
    }
    const { previousVersions: _previous, ...definition } = entry;
    byType.set(entry.type, { definition: Object.freeze({ ...definition, producedBy: Object.freeze([...definition.producedBy]) }), versions });
  }
  const definitions = Object.freeze([...byType.values()].map((known) => known.definition));

  function schemaAt(type: string, schemaVersion: number): z.ZodType | ValidationResult {
    const known = byType.get(type);
    if (known === undefined) return { ok: false, path: 'type', message: `unknown event type "${type}"` };
    if (schemaVersion === known.definition.schemaVersion) return known.definition.schema;
    const previous = known.versions.get(schemaVersion);
    if (previous === undefined) {
      return {
        ok: false,
        path: 'schemaVersion',
        message: `schemaVersion ${String(schemaVersion)} of "${type}" is not supported (supported: 1..${known.definition.schemaVersion})`,
      };
    }
    return previous.schema;
  }

  return {
    definitions,
    has: (type) => byType.has(type),
    definition: (type) => byType.get(type)?.definition,
    validate(type, schemaVersion, data) {
      const schema = schemaAt(type, schemaVersion);
      if ('ok' in schema) return schema;
      const parsed = schema.safeParse(data);
      return parsed.success ? { ok: true } : failureFrom(parsed.error);
    },
    upcast(type, schemaVersion, data) {
      const known = byType.get(type);
      if (known === undefined) throw new EventContractError('UNKNOWN_EVENT_TYPE', `unknown event type "${type}"`);
      const current = known.definition.schemaVersion;
      if (schemaVersion !== current && !known.versions.has(schemaVersion)) {
        throw new EventContractError(
          'UNSUPPORTED_SCHEMA_VERSION',
          `schemaVersion ${String(schemaVersion)} of "${type}" is not supported (supported: 1..${current})`,
        );
      }
      let upcasted = data;
      for (let version = schemaVersion; version < current; version++) {
        // The constructor checked the chain is complete, so every step exists.
        upcasted = known.versions.get(version)!.upcast(upcasted);
      }
      return { schemaVersion: current, data: upcasted };
    },
  };
}

interface EventInfo {
  description: string;
  producedBy: readonly EventProducer[];
  /** Older versions with their upcasters; none yet, every event is at version 1. */
  previousVersions?: readonly PreviousVersion[];
}

const categories: { readonly [C in EventCategory]: Readonly<Record<string, z.ZodType>> } = {
  service: serviceEventSchemas,
  incident: { ...incidentEventSchemas, ...operatorIncidentEventSchemas },
  pattern: patternEventSchemas,
  fleet: fleetEventSchemas,
  deadletter: deadLetterEventSchemas,
  notice: noticeEventSchemas,
  token: tokenEventSchemas,
};

const info: { readonly [K in EventType]: EventInfo } = {
  ServiceRegistered: { description: 'A service was put under care, with its repository, commands, deploy adapter and policy.', producedBy: ['cli'] },
  ServiceUpdated: { description: "A registered service's registration was replaced as a whole (repository, commands, scrubbing, deploy adapter, policy…), naming the fields that changed.", producedBy: ['cli'] },
  ServicePolicyChanged: { description: "A service's policy (auto-deploy, allowed paths, budgets) was replaced.", producedBy: ['cli'] },
  ServiceDeregistered: { description: 'A service was taken out of care; its new errors are no longer accepted.', producedBy: ['cli'] },
  IngestKeyCreated: { description: 'An ingest key was issued for a service; only its hash is recorded.', producedBy: ['cli'] },
  IngestKeyRevoked: { description: 'An ingest key was revoked; errors sent with it are refused from now on.', producedBy: ['cli'] },

  IncidentOpened: { description: 'Errors with a new fingerprint were seen and grouped into a new incident.', producedBy: ['ingest'] },
  ErrorRecorded: { description: 'A scrubbed sample of the error (exception, stack, request, tags) was kept for diagnosis.', producedBy: ['ingest'] },
  OccurrencesCounted: { description: 'The number of occurrences of the error in one time bucket was counted.', producedBy: ['ingest'] },
  IncidentReopened: { description: 'A resolved incident was seen again and reopened.', producedBy: ['ingest'] },
  DiagnosisMade: { description: 'A root cause was found, by a learned pattern, a rule or a language model.', producedBy: ['analyzer'] },
  DiagnosisFailed: { description: 'No root cause could be found.', producedBy: ['analyzer'] },
  PatchProposed: { description: 'A candidate patch was written as a unified diff, with its rationale and rank.', producedBy: ['patcher'] },
  PatchFailed: { description: 'No candidate patch could be written.', producedBy: ['patcher'] },
  PatchValidated: { description: "A patch passed the application's tests in an isolated checkout, with the result of reproducing the captured failure.", producedBy: ['validator'] },
  PatchRejected: { description: 'A patch failed validation.', producedBy: ['validator'] },
  PatchUnproven: { description: 'A patch passed the tests, but the captured failure could not be made again to prove it heals: never rolled out automatically.', producedBy: ['validator'] },
  FixCommitted: { description: 'A validated patch was committed to a branch, with a pull request where the policy asks for one.', producedBy: ['deployer'] },
  RolloutStarted: { description: 'A progressive rollout of the fix started, with its traffic stages.', producedBy: ['deployer'] },
  StageAdvanced: { description: 'The canary judge found no regression and the rollout moved to the next traffic stage.', producedBy: ['deployer'] },
  RolledBack: { description: 'The rollout was stopped and all traffic returned to stable: the canary judge found a regression or no evidence by the deadline, or a person rejected it.', producedBy: ['deployer'] },
  RolloutCompleted: { description: 'The fix serves all traffic.', producedBy: ['deployer'] },
  IncidentResolved: { description: 'The incident was closed: the fix was deployed or merged, or a person closed it.', producedBy: ['deployer', 'cli', 'console'] },
  IncidentEscalated: { description: 'The loop could not heal the incident on its own and handed it to a person, saying why.', producedBy: ['analyzer', 'patcher', 'validator', 'deployer'] },
  DecisionRecorded: { description: 'A person approved, rejected or asked to retry a step.', producedBy: ['cli', 'console'] },
  DiagnosisRequested: { description: 'The incident goes back to diagnosis after a fix failed in production (rolled back), naming the patches to avoid.', producedBy: ['deployer', 'console'] },
  LlmCallMetered: { description: 'A language-model call was made for the incident, with its tokens and cost.', producedBy: ['analyzer', 'patcher'] },

  PatternLearned: { description: 'A fix pattern was added to the library, from a seed, a healed incident or a person.', producedBy: ['learning'] },
  PatternOutcomeRecorded: { description: 'A pattern was used on an incident, and whether it worked was recorded.', producedBy: ['learning'] },
  PatternRetired: { description: 'A pattern was withdrawn from use.', producedBy: ['learning'] },

  TrafficChangeRequested: { description: "The deployer asked a service's fleet host agent to start a canary, move traffic to it or roll it back.", producedBy: ['deployer'] },
  TrafficChanged: { description: 'The fleet agent carried out a traffic change and reports what it now serves, with the counts so far.', producedBy: ['fleet-agent'] },
  TrafficChangeRefused: { description: 'The fleet agent did not carry out a traffic change, saying why.', producedBy: ['fleet-agent'] },
  FleetCountsReported: { description: "The fleet agent's proxy counts per release during a rollout: what the canary judge reads.", producedBy: ['fleet-agent'] },
  ReplicaFailed: { description: 'A replica run by the fleet agent crashed, broke its resource limit or could not be started.', producedBy: ['fleet-agent'] },

  MessageDeadLettered: { description: 'A consumer gave up on a message after repeated failures and set it aside.', producedBy: ['bus'] },

  NoticeRequested: { description: 'A notice to a person (Slack or generic webhook) was asked for: recorded first, then delivered from this outbox.', producedBy: ['deployer'] },
  NoticeDelivered: { description: 'A channel accepted a notice, alone or folded with others into a digest when over the hourly rate.', producedBy: ['deployer'] },
  NoticeFailed: { description: 'A notice could not be delivered to a channel after its bounded retries.', producedBy: ['deployer'] },

  ManualResolutionRecorded: { description: 'A person declared the incident resolved outside the loop, saying how; IncidentResolved (manual) follows in the same append.', producedBy: ['console'] },
  IncidentClosed: { description: 'A person closed the incident without a fix, saying why; the loop does nothing more for it.', producedBy: ['console'] },

  OperatorTokenCreated: { description: 'An operator token was issued with a name and a role; only its hash is recorded.', producedBy: ['cli'] },
  OperatorTokenRevoked: { description: 'An operator token was revoked; the console refuses it from then on.', producedBy: ['cli'] },
};

/** The versioned definitions of the Antibody catalog, in catalog order. */
export const antibodyEventDefinitions: readonly VersionedEventDefinition[] = (
  Object.entries(categories) as [EventCategory, Readonly<Record<string, z.ZodType>>][]
).flatMap(([category, schemas]) =>
  Object.entries(schemas).map(([type, schema]): VersionedEventDefinition => {
    const { description, producedBy, previousVersions = [] } = info[type as EventType];
    return { type, schemaVersion: previousVersions.length + 1, category, description, schema, producedBy, previousVersions };
  }),
);

/**
 * The catalog of every Antibody event: definitions, validation and upcasting. Built once at
 * module load (throws {@link EventContractError} `INVALID_CATALOG` there if the catalog is malformed).
 */
export const eventCatalog: EventCatalog = createEventCatalog(antibodyEventDefinitions);

/**
 * Validates stored data of (type, schemaVersion), upcasts it to the current version, validates it
 * again and returns it typed (unknown keys removed). Throws {@link EventContractError}:
 * `UNKNOWN_EVENT_TYPE`, `UNSUPPORTED_SCHEMA_VERSION`, or `INVALID_EVENT_DATA` with the first
 * failing path in its message.
 */
export function parseEventData<T extends EventType>(type: T, schemaVersion: number, data: unknown): EventData<T> {
  const stored = eventCatalog.validate(type, schemaVersion, data);
  if (!stored.ok) throw errorFor(type, stored);
  const upcasted = eventCatalog.upcast(type, schemaVersion, data);
  const parsed = eventSchemas[type].safeParse(upcasted.data);
  if (!parsed.success) throw errorFor(type, failureFrom(parsed.error), parsed.error);
  return parsed.data as unknown as EventData<T>;
}

function errorFor(type: string, failure: ValidationFailure, cause?: unknown): EventContractError {
  const code = failure.path === 'type' ? 'UNKNOWN_EVENT_TYPE' : failure.path === 'schemaVersion' ? 'UNSUPPORTED_SCHEMA_VERSION' : 'INVALID_EVENT_DATA';
  return new EventContractError(code, `invalid "${type}" event: ${failure.message}`, { cause });
}
