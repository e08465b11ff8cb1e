import { readFile } from 'node:fs/promises';
import { hostname, userInfo } from 'node:os';
import { foldEvents, type AntibodyEvent, type ServiceEvent } from '@antibody/contracts';
import { decideService, serviceFold, type ServiceCommand, type ServiceState } from '@antibody/domain';
import { WrongExpectedVersionError, type EventStore } from '@antibody/event-store';
import { CliError, EXIT, usageError } from '../errors';
import { formatTimelineLine } from '../format';
import type { Output } from '../output';
import { describeProblems, parseRegistrationFile, registrationYaml } from '../registration-file';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

/** A service as `services list` shows it. */
export interface ServiceListing {
  readonly name: string;
  readonly status: ServiceState['status'];
  readonly repository?: string;
  readonly deploy?: string;
  readonly autoDeploy?: boolean;
  readonly activeKeys: number;
  /** Version of the stream's last event. */
  readonly version: number;
}

function checkName(name: string): void {
  if (!NAME.test(name)) throw usageError(`"${name}" is not a service name (letters, digits, ".", "_", "-"; at most 100)`);
}

function operator(env: Readonly<Record<string, string | undefined>>): string {
  if (env.ANTIBODY_USER) return env.ANTIBODY_USER;
  try {
    return userInfo().username || 'unknown';
  } catch {
    return 'unknown';
  }
}

async function readService(store: EventStore, name: string) {
  const stream = await store.readStream(`service-${name}`);
  return { stream, state: foldEvents(serviceFold, stream.events) };
}

/** Decides `command` on the stream as read and appends at that version; a usage error when nothing applies and `refuse` says so. */
async function run(store: EventStore, name: string, command: ServiceCommand, env: Readonly<Record<string, string | undefined>>, options: { dryRun?: boolean } = {}) {
  const { stream, state } = await readService(store, name);
  const decision = decideService(command, state);
  if (decision.kind === 'ignore' || options.dryRun) return { decision, version: stream.currentVersion, appended: undefined };
  const streamId = `service-${name}`;
  try {
    const appended = await store.appendToStream(
      streamId,
      decision.events.map((event: ServiceEvent) => ({
        type: event.type,
        data: event.data,
        metadata: { correlationId: streamId, causationId: stream.events.at(-1)?.eventId ?? null, producer: { service: 'cli', instance: `${operator(env)}@${hostname()}` }, occurredAt: new Date().toISOString() },
      })),
      { expectedVersion: stream.exists ? stream.currentVersion : 'no-stream' },
    );
    return { decision, version: stream.currentVersion, appended };
  } catch (error) {
    if (error instanceof WrongExpectedVersionError) throw new CliError(`${streamId} changed while this command ran; nothing was appended: run it again`, EXIT.failure, { cause: error });
    throw error;
  }
}

function summary(event: AntibodyEvent): string {
  switch (event.type) {
    case 'ServiceRegistered':
      return `registered ${event.data.name}`;
    case 'ServiceUpdated':
      return `updated ${event.data.registration.name}: ${event.data.changed.join(', ')}`;
    case 'ServicePolicyChanged':
      return 'changed the policy';
    case 'ServiceDeregistered':
      return `deregistered ${event.data.name}`;
    default:
      return event.type;
  }
}

/**
 * `antibody services apply -f <file>`: makes `service-<name>` say what the file says. Registers a
 * new (or deregistered) service, appends ServiceUpdated (or ServicePolicyChanged when only the
 * policy differs) for a changed file, nothing for an unchanged one. A file that cannot be read or
 * does not validate is a usage error (exit 2) naming the field and line; nothing is appended then.
 */
export async function applyFile(
  openStore: <T>(use: (store: EventStore) => Promise<T>) => Promise<T>,
  options: { file: string; reason?: string; dryRun?: boolean; json?: boolean },
  out: Output,
  env: Readonly<Record<string, string | undefined>>,
): Promise<void> {
  let text: string;
  try {
    text = await readFile(options.file, 'utf8');
  } catch (error) {
    const code = (error as { code?: string }).code;
    throw usageError(`cannot read ${options.file}${code === 'ENOENT' ? ': no such file' : code === 'EISDIR' ? ': it is a directory' : code ? ` (${code})` : ''}`);
  }
  const parsed = parseRegistrationFile(text);
  if (!parsed.ok) throw usageError(describeProblems(options.file, parsed.problems));
  const { registration } = parsed;
  const reason = options.reason ?? `antibody services apply -f ${options.file}`;
  const result = await openStore((store) => run(store, registration.name, { type: 'ApplyRegistration', registration, reason }, env, options));
  const events = result.decision.kind === 'append' ? result.decision.events : [];
  if (options.json) {
    out.line(JSON.stringify({ service: registration.name, dryRun: options.dryRun === true, events: events.map((e) => ({ type: e.type, data: e.data })), ...(result.decision.kind === 'ignore' ? { unchanged: result.decision.because } : {}), ...(result.appended ? { streamVersion: result.appended.nextExpectedVersion } : {}) }));
    return;
  }
  if (result.decision.kind === 'ignore') {
    out.line(`${registration.name} is unchanged (service-${registration.name} #${result.version}); nothing appended`);
    return;
  }
  for (const event of events) out.line(`${options.dryRun ? 'would have ' : ''}${summary(event)}${result.appended ? ` (service-${registration.name} #${result.appended.nextExpectedVersion})` : ''}`);
}

/** `antibody services list`: every service stream with its status; deregistered ones only with `all`. */
export async function listServices(store: EventStore, options: { all?: boolean; json?: boolean }, out: Output): Promise<void> {
  const listings: ServiceListing[] = [];
  for (const { streamId } of await store.listStreams('service-')) {
    const name = streamId.slice('service-'.length);
    const { stream, state } = await readService(store, name);
    if (state.status === 'unknown') continue;
    if (state.status === 'deregistered' && !options.all) continue;
    const r = state.registration;
    listings.push({
      name,
      status: state.status,
      ...(r ? { repository: r.repository.url, deploy: r.deploy.adapter, autoDeploy: r.policy.autoDeploy } : {}),
      activeKeys: state.keys.filter((k) => k.revokedAt === undefined).length,
      version: stream.currentVersion,
    });
  }
  if (options.json) {
    out.line(JSON.stringify(listings, null, 2));
    return;
  }
  if (listings.length === 0) {
    out.line(options.all ? 'no services; register one with `antibody services apply -f antibody.yaml`' : 'no services under care; register one with `antibody services apply -f antibody.yaml` (--all shows deregistered ones)');
    return;
  }
  const rows = listings.map((l) => [l.name, l.status, l.deploy ?? '', l.autoDeploy === undefined ? '' : l.autoDeploy ? 'auto-deploy' : 'pull request', `${l.activeKeys} key${l.activeKeys === 1 ? '' : 's'}`, l.repository ?? '']);
  const header = ['SERVICE', 'STATUS', 'DEPLOY', 'FIXES', 'KEYS', 'REPOSITORY'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  for (const row of [header, ...rows]) out.line(row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ').trimEnd());
}

/**
 * `antibody services show <name>`: the registration as it stands (as the YAML `apply` takes, with
 * `--yaml`), its status, keys and history. Usage error (exit 2) for a service never registered.
 */
export async function showService(store: EventStore, name: string, options: { json?: boolean; yaml?: boolean }, out: Output): Promise<void> {
  checkName(name);
  const { stream, state } = await readService(store, name);
  if (state.status === 'unknown' || !state.registration) throw usageError(`no service ${name} (service-${name} has no registration); see \`antibody services list\``);
  if (options.yaml) {
    out.line(registrationYaml(state.registration).trimEnd());
    return;
  }
  if (options.json) {
    out.line(JSON.stringify({ name, status: state.status, version: stream.currentVersion, registration: state.registration, ...(state.deregistration ? { deregistration: state.deregistration } : {}), keys: state.keys.map(({ hash: _hash, ...key }) => key) }, null, 2));
    return;
  }
  const why = state.status === 'deregistered' ? ` (deregistered${state.deregistration?.reason ? `: ${state.deregistration.reason}` : ''})` : ' (under care)';
  out.line(`service ${name}${why}, stream service-${name} at #${stream.currentVersion}`);
  out.line('');
  for (const line of registrationYaml(state.registration).trimEnd().split('\n')) out.line(`  ${line}`);
  out.line('');
  const active = state.keys.filter((k) => k.revokedAt === undefined);
  out.line(`ingest keys: ${active.length} active${state.keys.length > active.length ? `, ${state.keys.length - active.length} revoked` : ''} (antibody keys list --project ${name})`);
  out.line('history:');
  for (const event of stream.events) out.line(`  ${formatTimelineLine(event)}`);
}

/** `antibody services deregister <name>`: appends ServiceDeregistered. Usage error (exit 2) unless the service is under care. */
export async function deregisterService(store: EventStore, name: string, options: { reason?: string }, out: Output, env: Readonly<Record<string, string | undefined>>): Promise<void> {
  checkName(name);
  const result = await run(store, name, { type: 'DeregisterService', name, ...(options.reason ? { reason: options.reason } : {}) }, env);
  if (result.decision.kind === 'ignore') throw usageError(result.decision.because);
  out.line(`deregistered ${name} (service-${name} #${result.appended?.nextExpectedVersion}): ingest refuses its reports, and its open incidents are not diagnosed, patched, validated or rolled out`);
}
