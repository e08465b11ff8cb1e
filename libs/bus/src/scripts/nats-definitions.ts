import { consumerDefinition, streamDefinition } from '../definitions';

/** The files infra/nats holds, generated from the definitions the relay and consumers use. */
export function natsDefinitionFiles(): Record<string, unknown> {
  return {
    'stream.ANTIBODY.json': streamDefinition(),
    'consumer.example.json': consumerDefinition({
      durable: 'analyzer',
      types: ['IncidentOpened', 'IncidentReopened'],
      maxDeliver: 5,
      ackWaitMs: 30_000,
      multipleFilters: true,
    }),
  };
}
