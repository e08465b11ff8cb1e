import { Command, InvalidArgumentError, Option } from 'commander';
import { decide, type DecideOptions } from './commands/decide';
import { createKey, listKeys, revokeKey } from './commands/keys';
import { createToken, listTokens, revokeToken } from './commands/tokens';
import { listIncidents, runIncidentCommand, showIncident, type IncidentCommand, type IncidentCommandOptions } from './commands/incidents';
import { logs } from './commands/logs';
import { consoleClient, DEFAULT_CONSOLE_URL, type ConsoleOptions } from './console-client';
import { patterns } from './commands/patterns';
import { replay } from './commands/replay';
import { applyFile, deregisterService, listServices, showService } from './commands/services';
import { costReport } from './commands/report';
import { tail } from './commands/tail';
import { migrate, up } from './commands/up';
import { verifyAll, verifyStream } from './commands/verify';
import { resolveTarget, withStore, DEFAULT_SCHEMA, type GlobalOptions } from './database';
import { EXIT, outcomeOf, usageError } from './errors';
import { outputTo, type Output, type TextSink } from './output';
import { cliVersion } from './version';

/** What the program reads and writes instead of `process`, so it runs in-process in tests. */
export interface CliContext {
  readonly stdout: TextSink;
  readonly stderr: TextSink;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Aborting it stops a running `tail` cleanly (the process entry wires SIGINT/SIGTERM to it). */
  readonly signal?: AbortSignal;
  /** Colour the output (diffs, statuses): the process entry sets it when stdout is a terminal and NO_COLOR is unset. */
  readonly color?: boolean;
}

/**
 * Builds the `antibody` commander program. Commander errors are not printed as-is nor do they exit
 * the process: they are written as one `antibody: …` line to `context.stderr` and thrown as
 * CommanderError (see {@link runCli}).
 */
export function buildProgram(context: CliContext): Command {
  const out = outputTo(context.stdout, context.stderr);
  const signal = context.signal ?? new AbortController().signal;
  const program = new Command('antibody')
    .description('Inspect the Antibody event store: replay a stream, verify hash chains, follow the live log.')
    .option('--database-url <url>', 'Postgres URL of the event store (default: env DATABASE_URL)')
    .option('--schema <name>', `schema of the event store (default: env ANTIBODY_SCHEMA or "${DEFAULT_SCHEMA}")`)
    .exitOverride()
    .configureOutput({
      writeOut: (text) => void context.stdout.write(text),
      writeErr: (text) => void context.stderr.write(text),
      outputError: (text, write) => write(`antibody: ${oneLine(text.replace(/^error: /, ''))}\n`),
    })
    .showSuggestionAfterError(true)
    .allowExcessArguments(false)
    .version(cliVersion(), '-V, --version', 'print the version of antibody');

  const target = (command: Command) => resolveTarget(command.optsWithGlobals<GlobalOptions>(), context.env);

  program
    .command('replay')
    .description("print a stream's events as a timeline")
    .argument('<streamId>', 'the stream, e.g. incident-<id>')
    .option('--json', 'print the events as a JSON array (full envelopes)')
    .option('--to-version <n>', 'stop at this stream version (inclusive)', nonNegativeInteger)
    .action(async (streamId: string, options: { json?: boolean; toVersion?: number }, command: Command) => {
      await withStore(target(command), (store) => replay(store, streamId, options, out));
    });

  program
    .command('verify')
    .description("check a stream's hash chain, or every stream's with --all")
    .argument('[streamId]', 'the stream to verify')
    .option('--all', 'verify every stream')
    .option('--json', 'print the verification result as JSON')
    .action(async (streamId: string | undefined, options: { all?: boolean; json?: boolean }, command: Command) => {
      if (options.all && streamId !== undefined) throw usageError('verify takes a stream id or --all, not both');
      if (!options.all && streamId === undefined) throw usageError('verify needs a stream id or --all');
      await withStore(target(command), (store) =>
        streamId === undefined ? verifyAll(store, options, out) : verifyStream(store, streamId, options, out),
      );
    });

  program
    .command('tail')
    .description('follow the global event log until Ctrl-C')
    .option('--type <type...>', 'only events of these types (repeatable)')
    .addOption(new Option('--stream-prefix <prefix>', 'only streams whose id starts with this').conflicts('category'))
    .option('--category <category>', 'only streams of this category, e.g. incident')
    .option('--from-start', 'start at position 0 instead of now')
    .option('--limit <n>', 'stop after printing this many events', positiveInteger)
    .option('--json', 'print one JSON envelope per line')
    .action(async (options: TailCliOptions, command: Command) => {
      await withStore(target(command), (store) => tail(store, { ...options, types: options.type }, out, signal));
    });

  for (const decision of ['approve', 'reject'] as const) {
    program
      .command(decision)
      .description(`${decision} the rollout of an incident's validated patch (recorded as DecisionRecorded)`)
      .argument('<incident>', 'the incident id (uuid)')
      .option('--patch <id>', "the patch decided on (default: the incident's latest validated patch)")
      .option('--by <who>', 'who decides (default: env ANTIBODY_USER, else the OS user)')
      .option('--comment <text>', 'why')
      .option('--json', 'print the recorded decision as JSON')
      .action(async (incident: string, options: DecideOptions, command: Command) => {
        await withStore(target(command), (store) => decide(store, decision, incident, options, out, context.env));
      });
  }

  const keys = program.command('keys').description('manage the ingest keys of a service under care');
  keys
    .command('create')
    .description('create an ingest key for a service (printed once; only its hash is stored)')
    .requiredOption('--project <service>', 'the registered service whose errors the key admits')
    .option('--label <label>', 'a note, e.g. production')
    .option('--rate-limit <perMinute>', 'reports accepted per minute with this key (per ingest instance)', positiveInteger)
    .option('--json', 'print {keyId, key, project} as JSON')
    .action(async (options: { project: string; label?: string; rateLimit?: number; json?: boolean }, command: Command) => {
      await withStore(target(command), (store) => createKey(store, options, out));
    });
  keys
    .command('list')
    .description("list a service's ingest keys (never the keys themselves)")
    .requiredOption('--project <service>', 'the registered service')
    .option('--json', 'print the keys as JSON')
    .action(async (options: { project: string; json?: boolean }, command: Command) => {
      await withStore(target(command), (store) => listKeys(store, options, out));
    });
  keys
    .command('revoke')
    .description('revoke an ingest key; ingest refuses it from then on')
    .argument('<keyId>', 'the key id shown by `keys create` or `keys list`')
    .requiredOption('--project <service>', 'the registered service')
    .option('--reason <reason>', 'why, for the audit trail')
    .action(async (keyId: string, options: { project: string; reason?: string }, command: Command) => {
      await withStore(target(command), (store) => revokeKey(store, { ...options, keyId }, out));
    });

  const tokens = program.command('tokens').description("manage the operator tokens of the console's API");
  tokens
    .command('create')
    .description('create an operator token (printed once; only its hash is stored)')
    .requiredOption('--name <name>', 'who uses it: a person or a system, recorded in every decision made with it')
    .requiredOption('--role <role>', 'viewer (reads), operator (+ retry, resolve, close), approver (+ approve, reject) or admin')
    .option('--json', 'print {tokenId, name, role, token} as JSON')
    .action(async (options: { name: string; role: string; json?: boolean }, command: Command) => {
      await withStore(target(command), (store) => createToken(store, options, out));
    });
  tokens
    .command('list')
    .description('list operator tokens (never the tokens themselves)')
    .option('--json', 'print the tokens as JSON')
    .action(async (options: { json?: boolean }, command: Command) => {
      await withStore(target(command), (store) => listTokens(store, options, out));
    });
  tokens
    .command('revoke')
    .description('revoke an operator token; the console refuses it from then on')
    .argument('<tokenId>', 'the token id shown by `tokens create` or `tokens list`')
    .option('--reason <reason>', 'why, for the audit trail')
    .action(async (tokenId: string, options: { reason?: string }, command: Command) => {
      await withStore(target(command), (store) => revokeToken(store, { ...options, tokenId }, out));
    });

  const incidents = program
    .command('incidents')
    .description("the incidents, read and decided through the console's API (services/console)")
    .option('--console-url <url>', `the console's base URL (default: env ANTIBODY_CONSOLE_URL, else ${DEFAULT_CONSOLE_URL})`)
    .option('--token <token>', 'an operator token (default: env ANTIBODY_TOKEN); see `antibody tokens create`');
  const client = (command: Command) => consoleClient(command.optsWithGlobals<ConsoleOptions>(), context.env);
  incidents
    .command('list')
    .description('list incidents, newest first')
    .option('--status <statuses>', 'only these statuses, comma-separated: open, diagnosing, patching, validating, awaiting-approval, proposed-as-pr, rolling-out, resolved, escalated, closed')
    .option('--service <name>', 'only this service')
    .option('--since <when>', 'only incidents seen since: ISO-8601, or 15m, 24h, 7d')
    .option('--limit <n>', 'at most this many (default 50)', positiveInteger)
    .option('--json', 'print the rows as a JSON array')
    .action(async (options: { status?: string; service?: string; since?: string; limit?: number; json?: boolean }, command: Command) => {
      await listIncidents(client(command), options, out);
    });
  incidents
    .command('show')
    .description('the whole story of one incident: what failed, the diagnosis, each patch with its diff and verdict, the rollout, cost, trace, fix')
    .argument('<incident>', 'the incident id, or its first characters')
    .option('--json', "print the console's answer as JSON")
    .action(async (id: string, options: { json?: boolean }, command: Command) => {
      await showIncident(client(command), id, { ...options, color: context.color === true }, out);
    });
  const incidentCommands: ReadonlyArray<{ name: IncidentCommand; description: string; configure: (c: Command) => Command }> = [
    { name: 'approve', description: 'roll out a validated, committed patch of the incident (approver token)', configure: (c) => c.requiredOption('--patch <id>', 'the patch, as `incidents show` prints it').option('--comment <text>', 'why') },
    { name: 'reject', description: 'reject a patch: a running rollout is rolled back, a fix not rolled out is escalated (approver token)', configure: (c) => c.requiredOption('--patch <id>', 'the patch, as `incidents show` prints it').option('--comment <text>', 'why') },
    { name: 'retry', description: 'send an escalated incident back to diagnosis, avoiding every patch that failed (operator token)', configure: (c) => c.addOption(new Option('--from <step>', 'where to start again').choices(['diagnosis']).default('diagnosis')).option('--comment <text>', 'why') },
    { name: 'resolve', description: 'record that the incident was fixed outside the loop (operator token)', configure: (c) => c.requiredOption('--reason <text>', 'how it was fixed').option('--patch <id>', 'the patch of the incident that fixed it, if any') },
    { name: 'close', description: 'close the incident: it will not be fixed (operator token)', configure: (c) => c.requiredOption('--reason <text>', 'why') },
  ];
  for (const { name, description, configure } of incidentCommands) {
    configure(incidents.command(name).description(description).argument('<incident>', 'the incident id, or its first characters'))
      .option('--json', "print the console's answer as JSON")
      .action(async (id: string, options: IncidentCommandOptions, command: Command) => {
        await runIncidentCommand(client(command), name, id, options, out);
      });
  }

  const services = program.command('services').description('register services under care from a YAML file kept in their repository, list, show and deregister them');
  services
    .command('apply')
    .description('register a service, or update its whole registration, from a YAML file (validated against the ServiceRegistered contract)')
    .requiredOption('-f, --file <path>', 'the registration file, e.g. antibody.yaml (see docs/registering-a-service.md)')
    .option('--reason <text>', 'why, recorded with the change (default: the command)')
    .option('--dry-run', 'validate and say what would be appended, append nothing')
    .option('--json', 'print {service, events} as JSON')
    .action(async (options: { file: string; reason?: string; dryRun?: boolean; json?: boolean }, command: Command) => {
      await applyFile((use) => withStore(target(command), use), options, out, context.env);
    });
  services
    .command('list')
    .description('list the services under care')
    .option('--all', 'include deregistered services')
    .option('--json', 'print the services as JSON')
    .action(async (options: { all?: boolean; json?: boolean }, command: Command) => {
      await withStore(target(command), (store) => listServices(store, options, out));
    });
  services
    .command('show')
    .description("show a service's registration, status, keys and history")
    .argument('<name>', 'the service name')
    .addOption(new Option('--yaml', 'print only the registration, as the YAML file `services apply` takes').conflicts('json'))
    .option('--json', 'print the service as JSON')
    .action(async (name: string, options: { json?: boolean; yaml?: boolean }, command: Command) => {
      await withStore(target(command), (store) => showService(store, name, options, out));
    });
  services
    .command('deregister')
    .description('take a service out of care: ingest refuses its reports, no service acts on its incidents')
    .argument('<name>', 'the service name')
    .option('--reason <text>', 'why, for the record')
    .action(async (name: string, options: { reason?: string }, command: Command) => {
      await withStore(target(command), (store) => deregisterService(store, name, options, out, context.env));
    });

  program
    .command('up')
    .description('run the platform on this machine until Ctrl-C: Postgres (DATABASE_URL, else a local one with its data under ~/.antibody), NATS (NATS_URL, else nats-server from PATH, else the store-log transport), migrations, then the services')
    .option('--only <services>', 'only these services, comma-separated, e.g. ingest,analyzer')
    .option('--data-dir <dir>', 'where the local Postgres keeps its data (default ~/.antibody/postgres)')
    .option('--port-base <port>', 'listen on consecutive ports from this one (ingest, analyzer, patcher, validator, deployer, console) instead of each default', positiveInteger)
    .action(async (options: { only?: string; dataDir?: string; portBase?: number }, command: Command) => {
      const globals = command.optsWithGlobals<GlobalOptions>();
      const databaseUrl = globals.databaseUrl ?? context.env.DATABASE_URL;
      if (databaseUrl !== undefined) resolveTarget(globals, context.env); // refuses a malformed URL (exit 2)
      await up({ ...options, databaseUrl, schema: globals.schema ?? (context.env.ANTIBODY_SCHEMA || DEFAULT_SCHEMA) }, out, context.env, signal);
    });

  program
    .command('migrate')
    .description("bring the event store's schema up to date (safe to run while services run: advisory-locked)")
    .action(async (_options: unknown, command: Command) => {
      const { databaseUrl, schema } = target(command);
      await migrate(databaseUrl, schema, out);
    });

  program
    .command('logs')
    .description("print the full logs of a patch's validation (verdict events carry only excerpts)")
    .argument('<patchId>', 'the patch id (a uuid)')
    .option('--step <step>', 'only this step, e.g. test:patched')
    .option('--json', 'print the log entries as a JSON array')
    .action(async (patchId: string, options: { step?: string; json?: boolean }, command: Command) => {
      if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(patchId)) throw usageError(`"${patchId}" is not a patch id (a uuid)`);
      await withStore(target(command), (store) => logs(store, patchId, options, out));
    });

  program
    .command('patterns')
    .description('list learned fix patterns with their success estimate (EMA) and counts, rebuilt from events')
    .option('--active', 'only patterns that are not retired')
    .option('--json', 'print the patterns as JSON')
    .action(async (options: { active?: boolean; json?: boolean }, command: Command) => {
      await withStore(target(command), (store) => patterns(store, options, out));
    });

  program
    .command('report')
    .description('reports over the event log')
    .command('costs')
    .description('fixes by source, LLM cost and savings for one month')
    .option('--month [yyyy-mm]', 'the month, UTC (default: the current month)')
    .option('--llm-fix-cost <usd>', 'price of one LLM fix for the savings estimate when the month has none', nonNegativeNumber)
    .option('--json', 'print the report as JSON')
    .action(async (options: { month?: string | boolean; llmFixCost?: number; json?: boolean }, command: Command) => {
      const month = typeof options.month === 'string' ? options.month : undefined;
      await withStore(target(command), (store) => costReport(store, { month, llmFixCost: options.llmFixCost, json: options.json }, out));
    });

  return program;
}

function nonNegativeNumber(value: string): number {
  if (!/^\d+(\.\d+)?$/.test(value)) throw new InvalidArgumentError('expected a number >= 0.');
  return Number(value);
}

interface TailCliOptions {
  type?: string[];
  streamPrefix?: string;
  category?: string;
  fromStart?: boolean;
  limit?: number;
  json?: boolean;
}

/**
 * Parses `argv` (without `node` and the script) and runs the command. Never throws: every failure
 * is one `antibody: …` line on stderr, and the result is the exit code (0 ok, 1 runtime, 2 usage).
 */
export async function runCli(argv: readonly string[], context: CliContext): Promise<number> {
  const program = buildProgram(context);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return EXIT.ok;
  } catch (error) {
    const { exitCode, line } = outcomeOf(error);
    if (line !== undefined) report(outputTo(context.stdout, context.stderr), line);
    if (context.env.ANTIBODY_DEBUG && error instanceof Error && error.stack) context.stderr.write(`${error.stack}\n`);
    return exitCode;
  }
}

function report(out: Output, line: string): void {
  out.note(`antibody: ${oneLine(line)}`);
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

function nonNegativeInteger(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('expected an integer >= 0.');
  return Number(value);
}

function positiveInteger(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new InvalidArgumentError('expected an integer >= 1.');
  return Number(value);
}
