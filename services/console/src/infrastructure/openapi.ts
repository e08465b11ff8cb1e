import { z } from 'zod';
import { CONSOLE_STATUSES } from '../domain/incident-view';
import { commandBodySchemas, DEFAULT_PAGE, MAX_PAGE } from '../domain/query';

const error = {
  type: 'object',
  required: ['error', 'detail'],
  properties: {
    error: { type: 'string', description: 'A stable code: `invalid_input`, `missing_token`, `unknown_token`, `revoked_token`, `forbidden`, `not_found`, `invalid`, `conflict`.' },
    detail: { type: 'string', description: 'One readable line saying what was wrong and how to fix it.' },
  },
} as const;

const errorResponse = (description: string) => ({ description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } });
const json = (schema: Record<string, unknown>, description: string) => ({ description, content: { 'application/json': { schema } } });
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const nullable = (type: string, extra: Record<string, unknown> = {}) => ({ type: [type, 'null'], ...extra });
const time = (description?: string) => nullable('string', { format: 'date-time', ...(description ? { description } : {}) });

const readErrors = { '400': errorResponse('A query parameter is not what the endpoint takes.'), '401': errorResponse('No operator token, or an unknown or revoked one.') };

const since = { name: 'since', in: 'query', schema: { type: 'string' }, description: 'Only what happened at or after this time: ISO-8601 (`2026-01-31T12:00:00Z`) or a duration back from now (`15m`, `24h`, `7d`).' };
const service = { name: 'service', in: 'query', schema: { type: 'string' }, description: 'Only this service under care.' };
const limit = { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: MAX_PAGE, default: DEFAULT_PAGE } };

function bodySchema(schema: z.ZodType): Record<string, unknown> {
  const out = z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'input' }) as Record<string, unknown>;
  delete out['$schema'];
  return out;
}

const incidentRow = {
  type: 'object',
  properties: {
    incidentId: { type: 'string', format: 'uuid' },
    service: { type: 'string' },
    title: { type: 'string', description: 'The exception: `TypeError: …`.' },
    culprit: nullable('string'),
    fingerprint: { type: 'string' },
    release: nullable('string'),
    environment: nullable('string'),
    status: { enum: [...CONSOLE_STATUSES] },
    round: { type: 'integer', description: 'The diagnosis round (0 for the first; each rollback or retry starts the next).' },
    samples: { type: 'integer' },
    occurrences: { type: 'integer' },
    firstSeen: { type: 'string', format: 'date-time' },
    lastSeen: { type: 'string', format: 'date-time' },
    chosenPatchId: nullable('string', { format: 'uuid', description: 'The fix the current round settled on.' }),
    pullRequestUrl: nullable('string'),
    costUsd: { type: 'number', description: 'LLM spend metered for the incident so far.' },
    traceId: nullable('string', { description: 'The W3C trace id of the incident (look it up in the trace UI).' }),
    openedAt: { type: 'string', format: 'date-time' },
    diagnosedAt: time(),
    proposedAt: time(),
    verdictAt: time(),
    committedAt: time(),
    rolloutStartedAt: time(),
    rolloutEndedAt: time(),
    decidedAt: time(),
    resolvedAt: time(),
    escalatedAt: time(),
    closedAt: time(),
    updatedAt: { type: 'string', format: 'date-time' },
    version: { type: 'integer', description: 'The incident stream version the row reflects.' },
  },
} as const;

const commandResponse = {
  type: 'object',
  properties: {
    incidentId: { type: 'string', format: 'uuid' },
    command: { type: 'string' },
    by: { type: 'object', properties: { tokenId: { type: 'string', format: 'uuid' }, name: { type: 'string' }, role: { type: 'string' } }, description: 'The token the command was authenticated with: the events record it.' },
    events: { type: 'array', items: { type: 'object', properties: { eventId: { type: 'string' }, type: { type: 'string' }, streamVersion: { type: 'integer' } } } },
  },
} as const;

const commandDescriptions: Record<keyof typeof commandBodySchemas, string> = {
  approve: 'Roll out a validated, committed patch of the incident (DecisionRecorded approve; the deployer carries it out). Needs role approver.',
  reject: 'Reject a patch of the incident (DecisionRecorded reject): a running rollout is rolled back, a fix not rolled out is escalated. Needs role approver.',
  retry: 'Send an escalated incident back to diagnosis, avoiding every patch that failed (DecisionRecorded retry + DiagnosisRequested). Needs role operator.',
  resolve: 'Declare the incident resolved outside the loop (ManualResolutionRecorded + IncidentResolved manual). Needs role operator.',
  close: 'Close the incident without a fix (IncidentClosed). Needs role operator.',
};

/**
 * The OpenAPI 3.1 document of the console's API, served at `/openapi.json` and committed as
 * docs/console-openapi.json (a unit spec keeps the two equal). Command bodies are generated from
 * the zod schemas the API validates with, so the two cannot drift.
 */
export function openApiDocument(): Record<string, unknown> {
  const commands = Object.fromEntries(
    (Object.keys(commandBodySchemas) as (keyof typeof commandBodySchemas)[]).map((name) => [
      `/v1/incidents/{id}/${name}`,
      {
        post: {
          summary: `${name[0]?.toUpperCase()}${name.slice(1)} the incident`,
          description: commandDescriptions[name],
          operationId: `${name}Incident`,
          parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } }],
          requestBody: { required: true, content: { 'application/json': { schema: bodySchema(commandBodySchemas[name]) } } },
          responses: {
            '200': json(commandResponse, 'The events appended.'),
            '400': errorResponse('The body is not what the command takes (the detail names the field).'),
            '401': errorResponse('No operator token, or an unknown or revoked one.'),
            '403': errorResponse("The token's role may not run this command."),
            '404': errorResponse('No such incident.'),
            '409': errorResponse('The incident is not in a state where the command means anything (the detail says why).'),
            '422': errorResponse("The command names what is not the incident's, e.g. another incident's patch."),
          },
        },
      },
    ]),
  );
  return {
    openapi: '3.1.0',
    info: {
      title: 'Antibody console',
      version: '1',
      description:
        "The operators' API: incidents, services, patterns, costs and rollouts as read models projected from the event log, and the commands a person runs on an incident. " +
        'Authenticate every request but this document with an operator token (`antibody tokens create --name <you> --role viewer|operator|approver|admin`).',
    },
    servers: [{ url: '/' }],
    security: [{ bearer: [] }],
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'Authorization: Bearer <operator token>' } },
      schemas: { Error: error, IncidentRow: incidentRow },
    },
    paths: {
      '/openapi.json': { get: { summary: 'This document', security: [], responses: { '200': { description: 'The OpenAPI document.' } } } },
      '/v1/incidents': {
        get: {
          summary: 'List incidents, newest first',
          operationId: 'listIncidents',
          parameters: [
            { name: 'status', in: 'query', schema: { type: 'string' }, description: `One or more of ${CONSOLE_STATUSES.join(', ')}, comma-separated.` },
            service,
            since,
            limit,
            { name: 'cursor', in: 'query', schema: { type: 'string' }, description: 'The `next` of the previous page, unchanged.' },
          ],
          responses: {
            '200': json({ type: 'object', properties: { items: { type: 'array', items: ref('IncidentRow') }, next: nullable('string', { description: 'Pass as `cursor` for the next page; null on the last.' }) } }, 'A page of incidents.'),
            ...readErrors,
          },
        },
      },
      '/v1/incidents/{id}': {
        get: {
          summary: 'One incident: its row, samples, rounds with their diagnosis, every candidate with its diff and verdict (per-test results), the rollout with the judge\'s evidence, decisions, escalations, and the timeline',
          operationId: 'showIncident',
          parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } }],
          responses: {
            '200': json({ allOf: [ref('IncidentRow'), { type: 'object', properties: { samples: { type: 'object' }, rounds: { type: 'array' }, candidates: { type: 'array' }, excluded: { type: 'array' }, rollout: nullable('object'), decisions: { type: 'array' }, escalations: { type: 'array' }, resolution: nullable('object'), manualResolution: nullable('object'), closure: nullable('object'), timeline: { type: 'array' } } }] }, 'The incident.'),
            ...readErrors,
            '404': errorResponse('No such incident.'),
          },
        },
      },
      '/v1/services': { get: { summary: 'Services under care (and deregistered ones)', operationId: 'listServices', responses: { '200': json({ type: 'object', properties: { items: { type: 'array' } } }, 'The services.'), ...readErrors } } },
      '/v1/patterns': { get: { summary: 'The learned pattern library, best estimate first', operationId: 'listPatterns', parameters: [limit], responses: { '200': json({ type: 'object', properties: { items: { type: 'array' } } }, 'The patterns.'), ...readErrors } } },
      '/v1/costs': {
        get: {
          summary: 'LLM spend per day, service, model and step',
          operationId: 'listCosts',
          parameters: [service, since],
          responses: { '200': json({ type: 'object', properties: { totalUsd: { type: 'number' }, calls: { type: 'integer' }, rows: { type: 'array' } } }, 'The spend.'), ...readErrors },
        },
      },
      '/v1/rollouts': {
        get: {
          summary: 'Rollouts, latest first, with the stage reached and the judge\'s evidence at each stage change',
          operationId: 'listRollouts',
          parameters: [service, since, { name: 'status', in: 'query', schema: { enum: ['running', 'rolled-back', 'completed', 'unresumable'] } }, limit],
          responses: { '200': json({ type: 'object', properties: { items: { type: 'array' } } }, 'The rollouts.'), ...readErrors },
        },
      },
      ...commands,
    },
  };
}
