import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { HealthState } from '@antibody/platform';

/** What the processor thread is started with (structured-cloned into it). */
export interface ProcessorThreadData {
  readonly databaseUrl: string;
  readonly schema: string;
  /** e.g. `antibody-ingest`: telemetry service name and the pool's application_name prefix. */
  readonly serviceName: string;
  readonly producer: { readonly service: string; readonly instance: string };
  readonly samplesPerIncident: number;
  readonly bucketSeconds: number;
  readonly keepProcessedHours: number;
  readonly vacuumAfterRows: number;
  readonly sourceRoot: string;
  /** Connections of the thread's own pool. */
  readonly poolSize: number;
  readonly batchSize?: number;
  readonly pollIntervalMs?: number;
  readonly minBatchIntervalMs?: number;
}

/** Main thread → processor thread. */
export type ToProcessor = { readonly type: 'wake' } | { readonly type: 'stop' };

/** Processor thread → main thread. */
export type FromProcessor =
  | { readonly type: 'started' }
  | { readonly type: 'stopped' }
  | { readonly type: 'processed'; readonly count: number }
  | { readonly type: 'warn'; readonly message: string };

/** Where the thread's reports go (logs and the processed-reports metric). */
export interface ProcessorThreadHooks {
  onProcessed(count: number): void;
  warn(message: string): void;
  error(message: string): void;
}

// A batch allocates megabytes (its rows, each report parsed while it is counted); with a larger
// young generation they die there instead of being promoted and collected by full GCs (measured
// when batches still kept every parsed report: about a fifth less GC time in the thread with 96 MB
// than with V8's default).
const PROCESSOR_YOUNG_GENERATION_MB = 96;

// Under ts-jest (sources, not the build) the worker is loaded through TypeScript's transpiler; the
// service itself always runs the compiled processor-worker.js.
const TS_LOADER = `
const { readFileSync } = require('node:fs');
const { workerData } = require('node:worker_threads');
const ts = require(workerData.typescript);
require.extensions['.ts'] = (module, filename) => {
  const output = ts.transpileModule(readFileSync(filename, 'utf8'), {
    fileName: filename,
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true, experimentalDecorators: true },
  });
  module._compile(output.outputText, filename);
};
require(workerData.entry);
`;

/**
 * Runs the {@link IntakeProcessor} in a `node:worker_threads` Worker of the ingest process, with its
 * own event loop and Postgres pool, so that processing (parsing stored reports, grouping, the batch
 * transactions) takes nothing from the HTTP intake's event loop. The guarantees are the processor's
 * own, unchanged: rows are claimed with SKIP LOCKED and counted in the transaction that marks them
 * processed, so several threads or instances still count each report exactly once.
 *
 * The intake's commits wake it ({@link wake}, a message); it also polls. Errors inside it are logged
 * and retried by the processor's back-off; if the thread dies nonetheless (an uncaught error), it is
 * reported down on `/health` and started again after a back-off (1 s, doubling up to 30 s).
 * {@link stop} lets the batch in progress commit, closes the thread's pool and waits for it to exit.
 */
export class ProcessorThread {
  private worker: Worker | undefined;
  private stopping = false;
  private restartTimer: NodeJS.Timeout | undefined;
  private failures = 0;
  private problem: string | undefined;
  private exited: Promise<void> = Promise.resolve();

  constructor(
    private readonly data: ProcessorThreadData,
    private readonly hooks: ProcessorThreadHooks,
    private readonly stopTimeoutMs = 30_000,
  ) {}

  start(): void {
    if (this.worker || this.stopping) return;
    const fromSources = __filename.endsWith('.ts');
    const entry = join(__dirname, fromSources ? 'processor-worker.ts' : 'processor-worker.js');
    const resourceLimits = { maxYoungGenerationSizeMb: PROCESSOR_YOUNG_GENERATION_MB };
    const worker = fromSources
      ? new Worker(TS_LOADER, { eval: true, workerData: { ...this.data, entry, typescript: require.resolve('typescript') }, resourceLimits })
      : new Worker(entry, { workerData: this.data, resourceLimits });
    this.worker = worker;
    let lastError: string | undefined;
    worker.on('message', (message: FromProcessor) => {
      switch (message.type) {
        case 'processed':
          this.failures = 0;
          this.hooks.onProcessed(message.count);
          break;
        case 'warn':
          this.hooks.warn(message.message);
          break;
        case 'started':
          this.problem = undefined;
          break;
        case 'stopped':
          break;
      }
    });
    worker.on('error', (error: Error) => {
      lastError = `${error.name}: ${error.message}`;
      this.hooks.error(`processor thread failed: ${lastError}`);
    });
    this.exited = new Promise<void>((resolve) => {
      worker.once('exit', (code: number) => {
        this.worker = undefined;
        resolve();
        if (this.stopping) return;
        this.failures += 1;
        this.problem = `processor thread exited (code ${code})${lastError ? `: ${lastError}` : ''}`;
        const delay = Math.min(30_000, 1000 * 2 ** Math.min(this.failures - 1, 5));
        this.hooks.error(`${this.problem}; starting it again in ${delay} ms`);
        this.restartTimer = setTimeout(() => {
          this.restartTimer = undefined;
          this.start();
        }, delay);
        this.restartTimer.unref();
      });
    });
  }

  /** New intake rows are committed: process them now rather than at the next poll. */
  wake(): void {
    this.worker?.postMessage({ type: 'wake' } satisfies ToProcessor);
  }

  /** Is the thread running? Reported on `/health` (down with its last failure while it restarts). */
  health(): HealthState {
    if (this.worker) return { up: true };
    return { up: false, message: this.problem ?? (this.stopping ? 'stopped' : 'not started') };
  }

  /** Lets the batch in progress commit, then ends the thread (terminated after `stopTimeoutMs`). */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    const worker = this.worker;
    if (!worker) return;
    worker.postMessage({ type: 'stop' } satisfies ToProcessor);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), this.stopTimeoutMs);
    });
    const late = await Promise.race([this.exited.then(() => false), timedOut]);
    clearTimeout(timer);
    if (late) {
      this.hooks.warn(`processor thread did not stop within ${this.stopTimeoutMs} ms; terminating it (its open transaction rolls back)`);
      await worker.terminate();
    }
  }
}
