// Public API of @antibody/contracts: the Antibody event catalog. Every export is named here.

export { buildAsyncApiDocument, CONTRACTS_VERSION } from './asyncapi';
export {
  eventCatalog,
  parseEventData,
  type EventCatalog,
  type EventDefinition,
  type EventProducer,
} from './catalog';
export { appendEvents, foldEvents, ignore, type Decision, type Fold } from './decision';
export { dataJsonSchemaFor, jsonSchemaFor } from './envelope';
export { EventContractError, type EventContractErrorCode } from './errors';
export {
  eventSchemas,
  type AntibodyEvent,
  type DeadLetterEvent,
  type EventData,
  type EventType,
  type FleetEvent,
  type IncidentEvent,
  type NoticeEvent,
  type TokenEvent,
  type PatternEvent,
  type ServiceEvent,
} from './events';
export { DEAD_LETTER_PAYLOAD_MAX_CHARS } from './events/deadletter';
export { armCountsSchema, capturedCallSchema, healingStepSchema, stackFrameSchema } from './events/incident';
export { servicePolicySchema } from './events/service';
export {
  operatorIdentitySchema,
  operatorNameSchema,
  operatorRoleSchema,
  operatorTokenIdSchema,
  type OperatorIdentity,
  type OperatorRole,
  type OperatorTokenId,
} from './events/operator';
export {
  incidentIdSchema,
  ingestKeyIdSchema,
  patchIdSchema,
  patternIdSchema,
  serviceNameSchema,
  type IncidentId,
  type IngestKeyId,
  type PatchId,
  type PatternId,
  type ServiceName,
} from './ids';
export { eventMetadataSchema, type EventMetadata } from './metadata';
export type { JsonValue } from './primitives';
export { isEvent, type RecordedEvent, type StoredEvent } from './recorded';
export { categoryOf, streamIdFor, subjectFor, SUBJECT_PREFIX, type EventCategory } from './streams';
export type { ValidationResult } from './validation';
export type { HealingStep, ServicePolicy, StackFrame } from './types';
