// The outside world of a drill, as local HTTP servers speaking the real wire protocols:
// - a Sentry relay between the applications' SDK and ingest: it answers the SDK at once and
//   forwards each envelope to ingest until ingest accepts it (as Sentry's own Relay does), noting
//   what ingest accepted with a 2xx — the reports that must never be lost;
// - the users' delivery system (the deployer's webhook adapter: signed canary.start/stage/rollback
//   hooks, and the counts the judge reads), where a good release's canary has no errors;
// - a notice webhook receiving the deployer's notices.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import type { AcceptedReport, Effects } from './checks';

/** What one envelope carried: its Sentry event id when it holds an error event. */
function eventIdOf(body: string): string | undefined {
  const lines = body.split('\n');
  const header = JSON.parse(lines[0] ?? '{}') as { event_id?: string };
  const hasEvent = lines.slice(1).some((line) => {
    try {
      return (JSON.parse(line) as { type?: string }).type === 'event';
    } catch {
      return false;
    }
  });
  return hasEvent ? header.event_id : undefined;
}

function keyOf(req: IncomingMessage): string | undefined {
  const auth = String(req.headers['x-sentry-auth'] ?? '');
  const fromHeader = /sentry_key=([^,\s]+)/.exec(auth)?.[1];
  return fromHeader ?? new URL(req.url ?? '/', 'http://relay').searchParams.get('sentry_key') ?? undefined;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** The relay in front of ingest. */
export interface Relay {
  readonly url: string;
  /** Error reports ingest accepted (2xx), in order. */
  readonly accepted: AcceptedReport[];
  /** Envelopes ingest refused with a 4xx (a drill expects none). */
  readonly refused: { service: string; status: number; body: string }[];
  /** Forwards still retrying. */
  pending(): number;
  close(): Promise<void>;
}

/**
 * Starts the relay: every envelope is forwarded to `ingestUrl()` with the SDK's own path and
 * headers, retried every 250 ms while ingest is unreachable or answers 5xx/429 (a killed or
 * restarting ingest), for up to `giveUpMs`.
 */
export async function startRelay(options: { ingestUrl: () => string; serviceOfKey: (key: string) => string | undefined; giveUpMs?: number }): Promise<Relay> {
  const accepted: AcceptedReport[] = [];
  const refused: Relay['refused'] = [];
  let inFlight = 0;
  const forward = async (path: string, headers: Record<string, string>, body: Buffer, service: string, eventId: string | undefined) => {
    const deadline = Date.now() + (options.giveUpMs ?? 300_000);
    inFlight++;
    try {
      for (;;) {
        try {
          const response = await fetch(new URL(path, options.ingestUrl()), { method: 'POST', headers, body, signal: AbortSignal.timeout(30_000) });
          const text = await response.text();
          if (response.ok) {
            if (eventId) accepted.push({ service, eventId });
            return;
          }
          if (response.status < 500 && response.status !== 429) {
            refused.push({ service, status: response.status, body: text.slice(0, 500) });
            return;
          }
        } catch {
          // ingest is down or restarting: try again
        }
        if (Date.now() > deadline) return;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    } finally {
      inFlight--;
    }
  };
  const server = createServer((req, res) => {
    void readBody(req).then((body) => {
      const key = keyOf(req);
      const service = key ? options.serviceOfKey(key) : undefined;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      if (!service) return;
      const headers: Record<string, string> = {};
      for (const name of ['content-type', 'content-encoding', 'x-sentry-auth', 'user-agent']) {
        const value = req.headers[name];
        if (typeof value === 'string') headers[name] = value;
      }
      let eventId: string | undefined;
      try {
        eventId = eventIdOf((req.headers['content-encoding'] === 'gzip' ? gunzipSync(body) : body).toString('utf8'));
      } catch {
        eventId = undefined;
      }
      void forward(req.url ?? '/', headers, body, service, eventId);
    });
  });
  const url = await listen(server);
  return { url, accepted, refused, pending: () => inFlight, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** The users' delivery system and notice endpoint. */
export interface Outside {
  readonly url: string;
  /** `deploy.settings` of a service's webhook adapter. */
  deploySettings(service: string): Record<string, string>;
  readonly canaryStarts: { service: string; release: string }[];
  readonly notices: Effects['notices'][number][];
  close(): Promise<void>;
}

/**
 * Starts the delivery system: `POST /hooks` takes the deployer's stage changes (signature checked
 * by the deployer's own scheme is not re-verified here: the drill trusts its own deployer), `GET
 * /counts?service=&release=` answers cumulative counts since the canary started, advancing
 * `perRead` requests per read split by the current stage (stable fails 1 %, the fixed canary never),
 * and `POST /notify` records notices.
 */
export async function startOutside(options: { perRead?: number } = {}): Promise<Outside> {
  const perRead = options.perRead ?? 4000;
  const fleets = new Map<string, { percent: number; canary: number; stable: number }>();
  const canaryStarts: Outside['canaryStarts'] = [];
  const notices: Outside['notices'] = [];
  const server = createServer((req, res) => {
    void readBody(req).then((raw) => {
      const url = new URL(req.url ?? '/', 'http://outside');
      const body = raw.toString('utf8');
      if (req.method === 'POST' && url.pathname === '/hooks') {
        const hook = JSON.parse(body) as { type: string; service: string; release: string; percent: number };
        const fleet = fleets.get(hook.service) ?? { percent: 0, canary: 0, stable: 0 };
        if (hook.type === 'canary.start') {
          canaryStarts.push({ service: hook.service, release: hook.release });
          Object.assign(fleet, { percent: 0, canary: 0, stable: 0 });
        } else {
          fleet.percent = hook.type === 'canary.rollback' ? 0 : hook.percent;
        }
        fleets.set(hook.service, fleet);
        res.writeHead(204).end();
        return;
      }
      if (req.method === 'GET' && url.pathname === '/counts') {
        const fleet = fleets.get(url.searchParams.get('service') ?? '') ?? { percent: 0, canary: 0, stable: 0 };
        const canary = Math.round((perRead * fleet.percent) / 100);
        fleet.canary += canary;
        fleet.stable += perRead - canary;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ canary: { requests: fleet.canary, errors: 0, slow: 0 }, stable: { requests: fleet.stable, errors: Math.floor(fleet.stable / 100), slow: 0 } }));
        return;
      }
      if (req.method === 'POST' && url.pathname === '/notify') {
        const deliveryId = String(req.headers['webhook-id'] ?? '');
        const payload = JSON.parse(body) as { type: string; incidentId?: string; kind?: string; notices?: { incidentId: string; kind: string }[] };
        const carried = payload.type === 'digest' ? (payload.notices ?? []) : [{ incidentId: String(payload.incidentId), kind: String(payload.kind) }];
        for (const n of carried) notices.push({ deliveryId, incidentId: n.incidentId, kind: n.kind });
        res.writeHead(200).end();
        return;
      }
      res.writeHead(404).end();
    });
  });
  const url = await listen(server);
  return {
    url,
    deploySettings: (service) => ({ url: `${url}/hooks`, secretEnv: 'DRILL_HOOK_SECRET', countsUrl: `${url}/counts?service=${encodeURIComponent(service)}` }),
    canaryStarts,
    notices,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
