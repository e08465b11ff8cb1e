import { Client, type Pool } from 'pg';

/**
 * Wakes readers after appends. In this process listeners are called at once; other processes
 * hear a Postgres NOTIFY sent after the append committed.
 *
 * The NOTIFY is not sent inside the append transaction: Postgres serialises the commits of all
 * notifying transactions on one lock, which would cap concurrent appends. Instead at most one
 * NOTIFY is in flight, and NOTIFYs are at least MIN_NOTIFY_GAP_MS apart; appends that land
 * meanwhile are folded into the next one.
 * Readers also poll, so a lost NOTIFY only costs latency.
 */
const MIN_NOTIFY_GAP_MS = 2;

export class AppendNotifier {
  private readonly listeners = new Set<() => void>();
  private sending = false;
  private pending = false;
  private lastSentAt = 0;
  private gapTimer: NodeJS.Timeout | undefined;
  private listenClient: Client | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly pool: Pool,
    private readonly channel: string,
  ) {}

  appended(): void {
    this.emit();
    this.pending = true;
    this.flush();
  }

  private flush(): void {
    if (this.sending || !this.pending || this.closed) return;
    const wait = this.lastSentAt + MIN_NOTIFY_GAP_MS - Date.now();
    if (wait > 0) {
      if (!this.gapTimer) {
        this.gapTimer = setTimeout(() => {
          this.gapTimer = undefined;
          this.flush();
        }, wait);
        this.gapTimer.unref();
      }
      return;
    }
    this.pending = false;
    this.sending = true;
    this.lastSentAt = Date.now();
    this.pool
      .query('SELECT pg_notify($1, $2)', [this.channel, ''])
      .catch(() => undefined) // readers poll; a failed wake-up only delays them
      .finally(() => {
        this.sending = false;
        this.flush();
      });
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    if (!this.listenClient && !this.reconnectTimer) this.listen(0);
    return () => {
      this.listeners.delete(listener);
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    if (this.gapTimer) clearTimeout(this.gapTimer);
    const client = this.listenClient;
    this.listenClient = undefined;
    if (client) await client.end().catch(() => undefined);
  }

  private emit(): void {
    for (const listener of this.listeners) {
      try {
        listener();
      } catch {
        // a listener's failure is its own business; the others still get woken
      }
    }
  }

  private listen(attempt: number): void {
    if (this.closed) return;
    const client = new Client(this.pool.options);
    const retry = () => {
      if (this.closed || this.listenClient !== client) return;
      this.listenClient = undefined;
      client.removeAllListeners();
      client.on('error', () => undefined);
      client.end().catch(() => undefined);
      const delay = Math.min(10_000, 250 * 2 ** Math.min(attempt, 6));
      this.reconnectTimer = setTimeout(() => {
        this.reconnectTimer = undefined;
        this.listen(attempt + 1);
      }, delay);
      this.reconnectTimer.unref();
    };
    this.listenClient = client;
    client.on('notification', (message) => {
      if (message.channel === this.channel) this.emit();
    });
    client.on('error', retry);
    client.on('end', retry);
    client
      .connect()
      .then(() => client.query(`LISTEN "${this.channel}"`))
      .then(() => {
        attempt = 0;
        // Anything appended while we were not listening is picked up by the woken readers.
        this.emit();
      })
      .catch(retry);
  }
}
