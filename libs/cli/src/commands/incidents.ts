import type { ConsoleClient } from '../console-client';
import { usageError } from '../errors';
import { formatIncidentScreen, formatIncidentTable, type IncidentDetail, type IncidentListItem, type ScreenOptions } from '../incidents-format';
import type { Output } from '../output';

// `antibody incidents …`: the console's read models and commands, through its HTTP API.

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const PREFIX = /^[0-9a-f][0-9a-f-]{0,35}$/;
/** The console's largest page. */
const PAGE = 500;

interface Page {
  readonly items: IncidentListItem[];
  readonly next: string | null;
}

export interface ListIncidentsOptions {
  readonly status?: string;
  readonly service?: string;
  readonly since?: string;
  readonly limit?: number;
  readonly json?: boolean;
}

/** `incidents list`: newest first, following the console's cursor until `limit` (default 50) rows. */
export async function listIncidents(client: ConsoleClient, options: ListIncidentsOptions, out: Output): Promise<void> {
  const limit = options.limit ?? 50;
  const items: IncidentListItem[] = [];
  let cursor: string | null = null;
  do {
    const query = new URLSearchParams();
    if (options.status) query.set('status', options.status);
    if (options.service) query.set('service', options.service);
    if (options.since) query.set('since', options.since);
    query.set('limit', String(Math.min(PAGE, limit - items.length)));
    if (cursor) query.set('cursor', cursor);
    const page: Page = await client.get<Page>(`/v1/incidents?${query.toString()}`);
    items.push(...page.items);
    cursor = page.next;
  } while (cursor && items.length < limit);
  if (options.json) {
    out.line(JSON.stringify(items, null, 2));
    return;
  }
  for (const line of formatIncidentTable(items)) out.line(line);
}

/** `incidents show`: the whole story of one incident on one screen. */
export async function showIncident(client: ConsoleClient, id: string, options: { json?: boolean } & ScreenOptions, out: Output): Promise<void> {
  const incident = await fetchIncident(client, await resolveIncidentId(client, id));
  if (options.json) {
    out.line(JSON.stringify(incident, null, 2));
    return;
  }
  for (const line of formatIncidentScreen(incident, options)) out.line(line);
}

/**
 * The full id of the incident `input` names: a whole id, or the start of exactly one incident's id
 * (as `incidents list` prints them). Unknown, ambiguous or malformed: a usage error (exit 2).
 */
export async function resolveIncidentId(client: ConsoleClient, input: string): Promise<string> {
  const id = input.trim().toLowerCase();
  if (UUID.test(id)) return id;
  if (!PREFIX.test(id)) throw usageError(`"${input}" is not an incident id (a uuid, or its first characters as \`incidents list\` prints them)`);
  const matches = new Set<string>();
  let cursor: string | null = null;
  do {
    const page: Page = await client.get<Page>(`/v1/incidents?limit=${PAGE}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    for (const item of page.items) if (item.incidentId.toLowerCase().startsWith(id)) matches.add(item.incidentId);
    cursor = page.next;
  } while (cursor);
  return single(matches, input, 'incident');
}

/** The full id of the patch of `incident` that `input` names (whole, or a prefix of exactly one of its candidates). */
export function resolvePatchId(incident: IncidentDetail, input: string): string {
  const id = input.trim().toLowerCase();
  if (!PREFIX.test(id)) throw usageError(`--patch: "${input}" is not a patch id (a uuid, or its first characters as \`incidents show\` prints them)`);
  const candidates = Array.isArray(incident['candidates']) ? (incident['candidates'] as Array<{ patchId?: unknown }>) : [];
  const matches = new Set(candidates.map((c) => c.patchId).filter((p): p is string => typeof p === 'string' && p.toLowerCase().startsWith(id)));
  if (matches.size === 0) throw usageError(`--patch: no patch of incident ${incident.incidentId.slice(0, 8)} starts with "${input}" (\`incidents show\` lists its patches)`);
  return single(matches, input, 'patch');
}

function single(matches: ReadonlySet<string>, input: string, what: 'incident' | 'patch'): string {
  const [first, ...rest] = [...matches];
  if (first === undefined) throw usageError(`no ${what} whose id starts with "${input}"`);
  if (rest.length > 0) {
    const shown = [first, ...rest].slice(0, 3).map((x) => x.slice(0, 13));
    throw usageError(`"${input}" is ambiguous: it starts ${matches.size} ${what} ids (${shown.join(', ')}${matches.size > 3 ? ', …' : ''}); give more characters`);
  }
  return first;
}

/** One incident's detail; the console's 404 for an unknown id is a usage error (exit 2). */
function fetchIncident(client: ConsoleClient, incidentId: string): Promise<IncidentDetail> {
  return client.get<IncidentDetail>(`/v1/incidents/${incidentId}`);
}

/** The commands of the console on an incident. */
export type IncidentCommand = 'approve' | 'reject' | 'retry' | 'resolve' | 'close';

export interface IncidentCommandOptions {
  readonly patch?: string;
  readonly comment?: string;
  readonly reason?: string;
  readonly from?: string;
  readonly json?: boolean;
}

interface CommandAnswer {
  readonly incidentId: string;
  readonly command: string;
  readonly by?: { name?: string; role?: string };
  readonly events?: Array<{ type: string; streamVersion?: number }>;
}

/**
 * `incidents approve|reject|retry|resolve|close`: the command through the console (which records
 * who decided from the token). Approve and reject need `--patch`, which must be one of the
 * incident's patches (exit 2 otherwise); resolve and close need `--reason`.
 */
export async function runIncidentCommand(client: ConsoleClient, command: IncidentCommand, input: string, options: IncidentCommandOptions, out: Output): Promise<void> {
  const incidentId = await resolveIncidentId(client, input);
  let body: Record<string, string>;
  switch (command) {
    case 'approve':
    case 'reject': {
      if (!options.patch) throw usageError(`${command} needs --patch <id>: name the patch (\`incidents show ${incidentId.slice(0, 8)}\` lists them)`);
      const patchId = resolvePatchId(await fetchIncident(client, incidentId), options.patch);
      body = { patchId, ...(options.comment ? { comment: options.comment } : {}) };
      break;
    }
    case 'retry':
      body = { from: options.from ?? 'diagnosis', ...(options.comment ? { comment: options.comment } : {}) };
      break;
    case 'resolve': {
      if (!options.reason) throw usageError('resolve needs --reason <text>: how it was fixed outside the loop');
      const patchId = options.patch ? resolvePatchId(await fetchIncident(client, incidentId), options.patch) : undefined;
      body = { reason: options.reason, ...(patchId ? { patchId } : {}) };
      break;
    }
    case 'close':
      if (!options.reason) throw usageError('close needs --reason <text>: why it will not be fixed');
      body = { reason: options.reason };
      break;
    default: {
      const unknown: never = command;
      throw usageError(`unknown command ${String(unknown)}`);
    }
  }
  const answer = await client.post<CommandAnswer>(`/v1/incidents/${incidentId}/${command}`, body);
  if (options.json) {
    out.line(JSON.stringify(answer, null, 2));
    return;
  }
  const events = (answer.events ?? []).map((e) => `${e.type}${e.streamVersion !== undefined ? ` #${e.streamVersion}` : ''}`).join(', ');
  out.line(`${command} of incident ${incidentId.slice(0, 8)} recorded by ${answer.by?.name ?? '?'} (${answer.by?.role ?? '?'}): ${events || 'no events'}`);
}
