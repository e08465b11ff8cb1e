/*
 * Messaging attribute names from the OpenTelemetry semantic conventions (v1.27+). They are still
 * "incubating" in @opentelemetry/semantic-conventions, whose README asks instrumentation code to
 * copy such definitions instead of importing the unstable `/incubating` entry point (which this
 * workspace's `node10` module resolution cannot see anyway). Names match the upstream constants.
 */
export const ATTR_MESSAGING_SYSTEM = 'messaging.system' as const;
export const ATTR_MESSAGING_DESTINATION_NAME = 'messaging.destination.name' as const;
export const ATTR_MESSAGING_MESSAGE_ID = 'messaging.message.id' as const;
export const ATTR_MESSAGING_OPERATION_TYPE = 'messaging.operation.type' as const;
export const ATTR_MESSAGING_OPERATION_NAME = 'messaging.operation.name' as const;
export const ATTR_MESSAGING_CONSUMER_GROUP_NAME = 'messaging.consumer.group.name' as const;
export const MESSAGING_OPERATION_TYPE_VALUE_SEND = 'send' as const;
export const MESSAGING_OPERATION_TYPE_VALUE_PROCESS = 'process' as const;

/** Antibody's own attributes, namespaced as the conventions require. */
export const ATTR_ANTIBODY_EVENT_TYPE = 'antibody.event.type' as const;
export const ATTR_ANTIBODY_STREAM_ID = 'antibody.stream.id' as const;
export const ATTR_ANTIBODY_REPLAY = 'antibody.replay' as const;
