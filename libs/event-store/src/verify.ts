import { chainHash, contentHash, GENESIS_HASH } from './hashing';
import type { ChainBreach, StoredEvent, StreamVerification } from './types';

/** The head row the store keeps per stream; the chain must end exactly there. */
export interface StreamHead {
  readonly version: number;
  readonly lastHash: string;
}

/**
 * Checks one stream's events (ordered by version, starting at 0) against its hash chain and head.
 * Pure: an auditor can run it on an export without the store. Reports the first breach only,
 * because everything after a breach is unverifiable anyway.
 */
export function verifyChain(
  streamId: string,
  events: readonly StoredEvent[],
  head: StreamHead | undefined,
): StreamVerification {
  const chain = new ChainVerifier(streamId);
  for (const event of events) {
    const breach = chain.next(event);
    if (breach) return { streamId, ok: false, eventsChecked: chain.checked, breach };
  }
  const breach = chain.end(head);
  return breach ? { streamId, ok: false, eventsChecked: chain.checked, breach } : { streamId, ok: true, eventsChecked: chain.checked };
}

/** Incremental form of verifyChain, for scans that stream events one by one. */
export class ChainVerifier {
  private expectedVersion = 0;
  private previousHash = GENESIS_HASH;
  checked = 0;

  constructor(readonly streamId: string) {}

  next(event: StoredEvent): ChainBreach | undefined {
    const at = { streamVersion: event.streamVersion, eventId: event.eventId };
    if (event.streamVersion !== this.expectedVersion) {
      return { ...at, reason: 'version-gap', detail: `expected version ${this.expectedVersion}, found ${event.streamVersion}` };
    }
    if (event.prevHash !== this.previousHash) {
      return { ...at, reason: 'prev-hash-mismatch', detail: `prevHash does not match the hash of version ${event.streamVersion - 1}` };
    }
    const recomputed = chainHash(event.prevHash, event.streamVersion, contentHash(event));
    if (recomputed !== event.hash) {
      return { ...at, reason: 'content-altered', detail: `stored hash ${event.hash.slice(0, 12)}… but content hashes to ${recomputed.slice(0, 12)}…` };
    }
    this.expectedVersion += 1;
    this.previousHash = event.hash;
    this.checked += 1;
    return undefined;
  }

  end(head: StreamHead | undefined): ChainBreach | undefined {
    const lastVersion = this.expectedVersion - 1;
    if (!head) {
      return lastVersion >= 0
        ? { streamVersion: lastVersion, reason: 'head-mismatch', detail: 'events exist but the stream head is missing' }
        : undefined;
    }
    if (head.version !== lastVersion || head.lastHash !== this.previousHash) {
      return {
        streamVersion: Math.min(head.version, lastVersion + 1),
        reason: 'head-mismatch',
        detail: `stream head says version ${head.version}, the chain ends at ${lastVersion}: events were removed or added outside the store`,
      };
    }
    return undefined;
  }
}
