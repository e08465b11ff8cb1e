import { categoryOf } from '@antibody/contracts';
import { START, type Checkpoint, type EventStore, type StoredEvent } from '@antibody/event-store';
import { formatTimelineLine } from '../format';
import type { Output } from '../output';

export interface TailOptions {
  /** Only these event types (any of them). */
  readonly types?: readonly string[];
  /** Only streams whose id starts with this. */
  readonly streamPrefix?: string;
  /** Only streams of this category (`incident`, `service`…). */
  readonly category?: string;
  /** Start at position 0 instead of the current head. */
  readonly fromStart?: boolean;
  readonly json?: boolean;
  /** Stop after printing this many events. */
  readonly limit?: number;
  /** Idle poll interval in ms; NOTIFY wake-ups usually come first. Default {@link TAIL_POLL_MS}. */
  readonly pollMs?: number;
}

/** How often an idle tail reads the log when no wake-up arrives. */
export const TAIL_POLL_MS = 500;
const BATCH = 500;

/**
 * Follows the global log (gap-safe `readAll`), printing matching events, until `signal` aborts or
 * `limit` events were printed. Woken by the store's append notifications, with polling as fallback.
 */
export async function tail(store: EventStore, options: TailOptions, out: Output, signal: AbortSignal): Promise<void> {
  const matches = filterFor(options);
  const wakeup = new Wakeup();
  const unsubscribe = store.onAppended(() => wakeup.wake());
  let checkpoint: Checkpoint = options.fromStart ? START : await store.headCheckpoint();
  out.note(`following events after position ${checkpoint.position}${options.limit ? ` (stopping after ${options.limit})` : ''}; Ctrl-C to stop`);
  let printed = 0;
  try {
    while (!signal.aborted) {
      wakeup.reset();
      const page = await store.readAll({ after: checkpoint, limit: BATCH });
      checkpoint = page.checkpoint;
      for (const event of page.events) {
        if (!matches(event)) continue;
        out.line(options.json ? JSON.stringify(event) : formatTimelineLine(event, { withStream: true }));
        printed += 1;
        if (options.limit !== undefined && printed >= options.limit) return;
      }
      if (page.events.length < BATCH) await wakeup.wait(options.pollMs ?? TAIL_POLL_MS, signal);
    }
  } finally {
    unsubscribe();
  }
}

function filterFor(options: TailOptions): (event: StoredEvent) => boolean {
  const types = options.types && options.types.length > 0 ? new Set(options.types) : undefined;
  return (event) =>
    (!types || types.has(event.type)) &&
    (options.streamPrefix === undefined || event.streamId.startsWith(options.streamPrefix)) &&
    (options.category === undefined || categoryOf(event.streamId) === options.category);
}

/** A wake-up that is not lost when it arrives while the reader is busy reading. */
class Wakeup {
  private woken = false;
  private resolve: (() => void) | undefined;

  wake(): void {
    this.woken = true;
    this.resolve?.();
  }

  reset(): void {
    this.woken = false;
  }

  /** Resolves on a wake-up (also one since the last reset), after `ms`, or when `signal` aborts. */
  wait(ms: number, signal: AbortSignal): Promise<void> {
    if (this.woken || signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        this.resolve = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
      this.resolve = done;
    });
  }
}
