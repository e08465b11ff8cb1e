import { Body, Controller, Get, Headers, HttpCode, HttpStatus, Inject, Param, Post, Query } from '@nestjs/common';
import type { OperatorIdentity } from '@antibody/contracts';
import type { OperatorCommand } from '@antibody/domain';
import { z } from 'zod';
import { runOperatorCommand, type CommandProducer } from '../handlers/operator-commands';
import { InvalidInputError, parseCommandBody, parseIncidentListQuery, parseListQuery, type CommandName } from '../domain/query';
import { OperatorAuth } from './auth';
import { httpError } from './http-errors';
import { openApiDocument } from './openapi';
import { ReadApi } from './read-api';
import type { EventStore } from '@antibody/event-store';

/** What the controller needs, provided by the console module. */
export const CONSOLE_DEPENDENCIES = Symbol('antibody.console.dependencies');
export interface ConsoleDependencies {
  readonly store: EventStore;
  readonly auth: OperatorAuth;
  readonly read: ReadApi;
  readonly producer: CommandProducer;
  /** The clock, for `since` durations. */
  readonly now: () => number;
}

const COMMANDS: readonly CommandName[] = ['approve', 'reject', 'retry', 'resolve', 'close'];
const ROLLOUT_STATUSES = ['running', 'rolled-back', 'completed', 'unresumable'];
const uuid = z.uuid();

function checked<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof InvalidInputError) throw httpError(HttpStatus.BAD_REQUEST, 'invalid_input', error.message);
    throw error;
  }
}

function incidentIdOf(id: string): string {
  if (!uuid.safeParse(id).success) throw httpError(HttpStatus.BAD_REQUEST, 'invalid_input', `incident id: expected a uuid (as GET /v1/incidents lists them); got ${JSON.stringify(id)}`);
  return id.toLowerCase();
}

/**
 * The console's HTTP API: the read models (incidents, services, patterns, costs, rollouts) and the
 * commands on an incident. Every route but `/openapi.json` needs an operator token; commands need
 * the role their command needs (see OperatorAuth). The document at `/openapi.json` describes each.
 */
@Controller()
export class ConsoleController {
  private readonly document = openApiDocument();

  constructor(@Inject(CONSOLE_DEPENDENCIES) private readonly deps: ConsoleDependencies) {}

  @Get('openapi.json')
  openApi(): Record<string, unknown> {
    return this.document;
  }

  @Get('v1/incidents')
  async incidents(@Headers('authorization') authorization: string | undefined, @Query() query: Record<string, unknown>) {
    await this.deps.auth.authenticate(authorization);
    const parsed = checked(() => parseIncidentListQuery(query, this.deps.now()));
    return this.deps.read.incidents(parsed);
  }

  @Get('v1/incidents/:id')
  async incident(@Headers('authorization') authorization: string | undefined, @Param('id') id: string) {
    await this.deps.auth.authenticate(authorization);
    const incidentId = incidentIdOf(id);
    const found = await this.deps.read.incident(incidentId);
    if (!found) throw httpError(HttpStatus.NOT_FOUND, 'not_found', `no incident ${incidentId}; GET /v1/incidents lists them (a new incident appears within a second)`);
    return found;
  }

  @Get('v1/services')
  async services(@Headers('authorization') authorization: string | undefined, @Query() query: Record<string, unknown>) {
    await this.deps.auth.authenticate(authorization);
    checked(() => parseListQuery(query, this.deps.now(), []));
    return { items: await this.deps.read.services() };
  }

  @Get('v1/patterns')
  async patterns(@Headers('authorization') authorization: string | undefined, @Query() query: Record<string, unknown>) {
    await this.deps.auth.authenticate(authorization);
    const { limit } = checked(() => parseListQuery(query, this.deps.now(), ['limit']));
    return { items: await this.deps.read.patterns({ limit }) };
  }

  @Get('v1/costs')
  async costs(@Headers('authorization') authorization: string | undefined, @Query() query: Record<string, unknown>) {
    await this.deps.auth.authenticate(authorization);
    const { service, since } = checked(() => parseListQuery(query, this.deps.now(), ['service', 'since']));
    return this.deps.read.costs({ ...(service !== undefined ? { service } : {}), ...(since !== undefined ? { since } : {}) });
  }

  @Get('v1/rollouts')
  async rollouts(@Headers('authorization') authorization: string | undefined, @Query() query: Record<string, unknown>) {
    await this.deps.auth.authenticate(authorization);
    const filter = checked(() => parseListQuery(query, this.deps.now(), ['service', 'since', 'status', 'limit']));
    if (filter.status !== undefined && !ROLLOUT_STATUSES.includes(filter.status)) {
      throw httpError(HttpStatus.BAD_REQUEST, 'invalid_input', `status: expected one of ${ROLLOUT_STATUSES.join(', ')}; got ${JSON.stringify(filter.status)}`);
    }
    return { items: await this.deps.read.rollouts(filter) };
  }

  /**
   * `POST /v1/incidents/{id}/{approve|reject|retry|resolve|close}`: 200 with the events appended;
   * 400 bad input, 401 no valid token, 403 the token's role may not, 404 no such incident, 422 the
   * command names what is not the incident's (another incident's patch), 409 the incident is not
   * in a state where the command means anything. Each error's `detail` says which and why.
   */
  @Post('v1/incidents/:id/:command')
  @HttpCode(HttpStatus.OK)
  async command(@Headers('authorization') authorization: string | undefined, @Param('id') id: string, @Param('command') name: string, @Body() body: unknown) {
    if (!(COMMANDS as readonly string[]).includes(name)) throw httpError(HttpStatus.NOT_FOUND, 'not_found', `no command ${JSON.stringify(name)}; the commands are ${COMMANDS.join(', ')}`);
    const command = name as CommandName;
    const by = await this.deps.auth.authenticate(authorization);
    this.deps.auth.authorise(by, command);
    const incidentId = incidentIdOf(id);
    const operatorCommand = checked(() => toCommand(command, body, by));
    const result = await runOperatorCommand(this.deps.store, this.deps.producer, incidentId, operatorCommand);
    if (result.kind === 'refuse') {
      const status = { 'not-found': HttpStatus.NOT_FOUND, invalid: HttpStatus.UNPROCESSABLE_ENTITY, conflict: HttpStatus.CONFLICT }[result.code];
      throw httpError(status, result.code.replace('-', '_'), result.code === 'not-found' ? `no incident ${incidentId}` : result.because);
    }
    return { incidentId, command, by, events: result.events };
  }
}

function toCommand(command: CommandName, body: unknown, by: OperatorIdentity): OperatorCommand {
  switch (command) {
    case 'approve':
    case 'reject': {
      const b = parseCommandBody(command, body);
      return { kind: command, by, patchId: b.patchId, ...(b.comment ? { comment: b.comment } : {}) };
    }
    case 'retry': {
      const b = parseCommandBody('retry', body);
      return { kind: 'retry', by, step: b.from, ...(b.comment ? { comment: b.comment } : {}) };
    }
    case 'resolve': {
      const b = parseCommandBody('resolve', body);
      return { kind: 'resolve', by, reason: b.reason, ...(b.patchId ? { patchId: b.patchId } : {}) };
    }
    case 'close': {
      const b = parseCommandBody('close', body);
      return { kind: 'close', by, reason: b.reason };
    }
  }
}
