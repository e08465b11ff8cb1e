'use strict';

const { trace, SpanKind, SpanStatusCode } = require('@opentelemetry/api');

const tracer = trace.getTracer('order-worker');

/**
 * An in-process job queue worked by one loop, in arrival order. Each job runs in a `process <type>`
 * consumer span; a job that throws is recorded on its span as an exception event (which is how
 * errors reach the OTLP collector) and kept in `failed`; the loop goes on with the next job.
 *
 * @param {{ handlers: Record<string, (payload: any) => any> }} options job type -> handler
 */
function createQueue({ handlers }) {
  const pending = [];
  const results = new Map();
  const stats = { accepted: 0, done: 0, failed: 0 };
  let running = false;
  let idle = Promise.resolve();

  function enqueue(job) {
    pending.push(job);
    stats.accepted++;
    results.set(job.id, { id: job.id, status: 'queued' });
    if (!running) idle = drain();
    return job.id;
  }

  async function drain() {
    running = true;
    try {
      while (pending.length > 0) {
        const job = pending.shift();
        await runOne(job);
      }
    } finally {
      running = false;
    }
  }

  async function runOne(job) {
    await tracer.startActiveSpan(
      `process ${job.type}`,
      { kind: SpanKind.CONSUMER, attributes: { 'messaging.system': 'order-worker', 'messaging.operation.type': 'process', 'messaging.message.id': job.id, 'job.type': job.type } },
      async (span) => {
        try {
          const handler = handlers[job.type];
          if (!handler) throw new UnknownJobTypeError(job.type);
          const output = await handler(job.payload);
          results.set(job.id, { id: job.id, status: 'done', output });
          stats.done++;
        } catch (error) {
          span.recordException(error);
          span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
          results.set(job.id, { id: job.id, status: 'failed', error: `${error.name}: ${error.message}` });
          stats.failed++;
        } finally {
          span.end();
        }
      },
    );
  }

  return {
    enqueue,
    /** The job's status: queued, done (with its output) or failed (with the error line). */
    status: (id) => results.get(id),
    stats: () => ({ ...stats, queued: pending.length }),
    /** Resolves when every job enqueued so far has run. */
    whenIdle: () => idle,
  };
}

/** A job whose type no handler knows; the job fails, the worker goes on. */
class UnknownJobTypeError extends Error {
  constructor(type) {
    super(`no handler for job type "${type}"`);
    this.name = 'UnknownJobTypeError';
    this.code = 'UNKNOWN_JOB_TYPE';
  }
}

module.exports = { createQueue, UnknownJobTypeError };
