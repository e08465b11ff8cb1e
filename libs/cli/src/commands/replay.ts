import { StreamNotFoundError, type EventStore } from '@antibody/event-store';
import { formatStreamHeader, formatTimelineLine } from '../format';
import type { Output } from '../output';

export interface ReplayOptions {
  readonly json?: boolean;
  /** Last version to print, inclusive. */
  readonly toVersion?: number;
}

/** Prints one stream's events as a timeline (or a JSON array). Throws StreamNotFoundError for an unknown stream. */
export async function replay(store: EventStore, streamId: string, options: ReplayOptions, out: Output): Promise<void> {
  const stream = await store.readStream(streamId, { toVersion: options.toVersion });
  if (!stream.exists) throw new StreamNotFoundError(streamId);
  if (options.json) {
    out.line(JSON.stringify(stream.events, null, 2));
    return;
  }
  out.line(formatStreamHeader(streamId, stream.events));
  for (const event of stream.events) out.line(formatTimelineLine(event));
}
