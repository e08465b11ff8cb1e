import { chainHash, contentHash, GENESIS_HASH } from './hashing';
import type { ChainBreach, StoredEvent, StreamVerification } from './types';

/**
 * Checks one stream's events (ordered by version, starting at 0) against their hash chain.
 * Pure: an auditor can run it on an export without the store. Reports the first breach only,
 * because everything after a breach is unverifiable anyway. A chain proves nothing was changed,
 * inserted or removed before its last event; removing the newest events leaves a valid shorter
 * chain, which only a copy of the head kept elsewhere (the bus, an export) can reveal.
 */
export function verifyChain(streamId: string, events: readonly StoredEvent[]): StreamVerification {
  const chain = new ChainVerifier(streamId);
  for (const event of events) {
    const breach = chain.next(event);
    if (breach) return { streamId, ok: false, eventsChecked: chain.checked, breach };
  }
  return { streamId, ok: true, eventsChecked: chain.checked };
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
}
