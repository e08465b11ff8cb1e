import type { EventStore, StreamVerification } from '@antibody/event-store';
import { EXIT, ExitStatus } from '../errors';
import type { Output } from '../output';

export interface VerifyOptions {
  readonly json?: boolean;
}

/** Checks one stream's hash chain. Throws ExitStatus(1) after printing a breach; StreamNotFoundError for an unknown stream. */
export async function verifyStream(store: EventStore, streamId: string, options: VerifyOptions, out: Output): Promise<void> {
  const verification = await store.verifyStream(streamId);
  if (options.json) out.line(JSON.stringify(verification, null, 2));
  else if (verification.ok) out.line(`ok: ${streamId} (${verification.eventsChecked} ${plural(verification.eventsChecked, 'event')}, chain intact)`);
  else out.line(breachLine(verification));
  if (!verification.ok) throw new ExitStatus(EXIT.failure);
}

/** Checks every stream's hash chain. Throws ExitStatus(1) after printing the breaches. */
export async function verifyAll(store: EventStore, options: VerifyOptions, out: Output): Promise<void> {
  const verification = await store.verifyAll();
  const { streams, events, breaches } = verification;
  if (options.json) out.line(JSON.stringify({ ok: breaches.length === 0, ...verification }, null, 2));
  else if (breaches.length === 0) out.line(`ok: ${streams} ${plural(streams, 'stream')}, ${events} ${plural(events, 'event')}, all chains intact`);
  else {
    for (const breach of breaches) out.line(breachLine(breach));
    out.line(`${breaches.length} of ${streams} ${plural(streams, 'stream')} broken (${events} ${plural(events, 'event')} scanned)`);
  }
  if (breaches.length > 0) throw new ExitStatus(EXIT.failure);
}

/** `BROKEN: <stream> at version N (event <id>): <reason> — <detail>` */
export function breachLine(verification: StreamVerification): string {
  const breach = verification.breach;
  if (!breach) return `BROKEN: ${verification.streamId}`;
  const event = breach.eventId ? ` (event ${breach.eventId})` : '';
  return `BROKEN: ${verification.streamId} at version ${breach.streamVersion}${event}: ${breach.reason} — ${breach.detail}`;
}

function plural(count: number, word: string): string {
  return count === 1 ? word : `${word}s`;
}
