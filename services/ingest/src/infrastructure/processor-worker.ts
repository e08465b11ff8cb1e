// Entry of the processor thread (see processor-thread.ts): runs the IntakeProcessor on its own
// event loop and its own Postgres pool, so processing never competes with the HTTP intake's.
import { parentPort, workerData } from 'node:worker_threads';
import { createEventStore } from '@antibody/event-store';
import { startTelemetry, telemetryOptionsFromEnv, type Telemetry } from '@antibody/telemetry';
import { Pool } from 'pg';
import { IntakeProcessor } from './processor';
import { Registry } from './registry';
import { SourceMapStore } from './source-map-store';
import type { ProcessorThreadData, ToProcessor, FromProcessor } from './processor-thread';

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

async function main(port: NonNullable<typeof parentPort>, data: ProcessorThreadData): Promise<void> {
  const send = (message: FromProcessor): void => port.postMessage(message);
  const warn = (what: string) => (error: unknown) => send({ type: 'warn', message: `${what}: ${describe(error)}` });
  // Each thread has its own tracer provider, propagators and context manager: the appends' spans
  // are exported from here (as the main thread's, per OTEL_TRACES_EXPORTER; with `none` trace
  // context still reaches the events' metadata).
  const telemetry: Telemetry = startTelemetry(telemetryOptionsFromEnv(process.env, data.serviceName, data.producer.instance));

  const pool = new Pool({ connectionString: data.databaseUrl, max: data.poolSize, connectionTimeoutMillis: 5_000, application_name: `${data.serviceName}-processor` });
  // An idle connection that drops must not crash the thread: the pool reconnects on next use.
  pool.on('error', warn('lost an idle Postgres connection of the processor'));
  const store = createEventStore({ pool, schema: data.schema });
  const registry = new Registry(pool, data.schema, warn('registry refresh (processor)'));
  // Registry.start logs (does not throw) a failed first load; later refreshes fill it in.
  await registry.start();
  const processor = new IntakeProcessor(pool, store, registry, new SourceMapStore(data.sourceRoot), {
    schema: data.schema,
    producer: data.producer,
    samplesPerIncident: data.samplesPerIncident,
    bucketSeconds: data.bucketSeconds,
    keepProcessedHours: data.keepProcessedHours,
    vacuumAfterRows: data.vacuumAfterRows,
    ...(data.batchSize !== undefined ? { batchSize: data.batchSize } : {}),
    ...(data.pollIntervalMs !== undefined ? { pollIntervalMs: data.pollIntervalMs } : {}),
    ...(data.minBatchIntervalMs !== undefined ? { minBatchIntervalMs: data.minBatchIntervalMs } : {}),
    onError: (error, what) => send({ type: 'warn', message: `${what}: ${describe(error)}` }),
    onProcessed: (count) => send({ type: 'processed', count }),
  });

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      await processor.stop();
      registry.stop();
      await store.close().catch(warn('closing the event store (processor)'));
      await pool.end().catch(warn('closing the processor pool'));
      await telemetry.shutdown().catch(warn('flushing telemetry (processor)'));
      send({ type: 'stopped' });
      port.close();
    })());
  port.on('message', (message: ToProcessor) => {
    if (message.type === 'wake') processor.wake();
    else if (message.type === 'stop') void stop();
  });
  processor.start();
  send({ type: 'started' });
}

if (!parentPort) throw new Error('processor-worker runs as a worker thread of antibody-ingest (see processor-thread.ts)');
const port = parentPort;
main(port, workerData as ProcessorThreadData).catch((error: unknown) => {
  // Surfaces as the Worker's 'error' event in the main thread, which logs it and starts a new thread.
  setImmediate(() => {
    throw error;
  });
});
