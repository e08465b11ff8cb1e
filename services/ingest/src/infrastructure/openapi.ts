import { z } from 'zod';
import { SLOW_BASELINE_MINUTES } from './counts-route';
import { nativeErrorSchema } from './native-route';

const error = {
  type: 'object',
  required: ['error', 'detail'],
  properties: { error: { type: 'string', description: 'A stable code, e.g. `missing_key`.' }, detail: { type: 'string', description: 'One readable line saying what was wrong and how to fix it.' } },
} as const;

const errorResponse = (description: string, headers?: Record<string, unknown>) => ({
  description,
  ...(headers ? { headers } : {}),
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
});

const retryAfter = { 'Retry-After': { description: 'Seconds to wait before retrying.', schema: { type: 'integer' } } };

/**
 * The OpenAPI 3.1 document of ingest's HTTP API, served at `/docs` (JSON, or YAML with
 * `Accept: application/yaml` or `/docs/openapi.yaml`). The native error schema is generated from
 * the same zod schema the endpoint validates with, so the two cannot drift.
 */
export function openApiDocument(): Record<string, unknown> {
  const nativeError = z.toJSONSchema(nativeErrorSchema, { target: 'draft-2020-12', unrepresentable: 'any' }) as Record<string, unknown>;
  delete nativeError['$schema'];
  const common = {
    '401': errorResponse('No ingest key was presented.'),
    '403': errorResponse('The key is unknown or revoked, or its service was deregistered.'),
    '413': errorResponse('The body, its decompressed size or an item is over the limit.'),
    '429': errorResponse('The key sent more than its rate limit.', { ...retryAfter, 'X-Sentry-Rate-Limits': { schema: { type: 'string' }, description: '`<seconds>::key`' } }),
    '503': errorResponse('Postgres cannot store reports right now; nothing was accepted.', retryAfter),
  };
  return {
    openapi: '3.1.0',
    info: {
      title: 'Antibody ingest',
      version: '1',
      description:
        'Error intake for applications under care: the Sentry envelope endpoint (for unmodified Sentry SDKs), OTLP/HTTP logs and traces, and a native JSON API; ' +
        'and the per-release counts the deployer\'s canary judge reads. ' +
        'A 2xx answer means the reports are durably stored. Authenticate with an ingest key (`antibody keys create --project <service>`).',
    },
    servers: [{ url: '/' }],
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'Authorization: Bearer <ingest key>' },
        antibodyKey: { type: 'apiKey', in: 'header', name: 'X-Antibody-Key' },
        sentryAuth: { type: 'apiKey', in: 'header', name: 'X-Sentry-Auth', description: 'Sentry sentry_key=<ingest key>, sentry_version=7' },
        sentryKey: { type: 'apiKey', in: 'query', name: 'sentry_key' },
      },
      schemas: {
        Error: error,
        NativeError: nativeError,
        ReleaseWindowCounts: {
          type: 'object',
          required: ['requests', 'errors', 'slow'],
          properties: {
            requests: { type: 'integer', minimum: 0, description: 'Requests (OTLP server spans, Sentry transactions) counted since the bucket holding `since`.' },
            errors: { type: 'integer', minimum: 0, description: 'Of those, the failed ones (span status ERROR or HTTP status ≥ 500; transaction status not ok).' },
            slow: { type: 'integer', minimum: 0, description: 'Of those, the ones slower than `slowThresholdMs` (0 when it is null).' },
          },
        },
        ReleaseCounts: {
          type: 'object',
          required: ['canary', 'stable', 'since', 'slowThresholdMs'],
          properties: {
            canary: { $ref: '#/components/schemas/ReleaseWindowCounts' },
            stable: { $ref: '#/components/schemas/ReleaseWindowCounts' },
            since: { type: 'string', format: 'date-time', description: 'The requested `since`, normalised to UTC.' },
            slowThresholdMs: {
              type: ['number', 'null'],
              description: `The stable release's p95 request duration over the ${SLOW_BASELINE_MINUTES} minutes before \`since\`, rounded up to its histogram bucket's upper bound; null when there was no traffic then.`,
            },
          },
        },
        NativeErrors: { type: 'object', required: ['errors'], properties: { errors: { type: 'array', minItems: 1, maxItems: 100, items: { $ref: '#/components/schemas/NativeError' } } } },
      },
    },
    paths: {
      '/v1/releases/counts': {
        get: {
          summary: 'Request, error and slow-request counts of a canary and its stable release (for the canary judge)',
          description:
            'Cumulative counts from the count bucket holding `since` (`INGEST_BUCKET_SECONDS` wide) to now; they never decrease as time passes. ' +
            `\`slow\` counts requests slower than the stable release's p95 over the ${SLOW_BASELINE_MINUTES} minutes before that bucket. ` +
            'Authenticate with an ingest key of the service\'s project. Reads are not rate limited.',
          security: [{ bearer: [] }, { antibodyKey: [] }],
          parameters: [
            { name: 'service', in: 'query', required: true, schema: { type: 'string' }, description: 'The service (the key must belong to it).' },
            { name: 'canary', in: 'query', required: true, schema: { type: 'string' }, description: 'Release under test.' },
            { name: 'stable', in: 'query', required: true, schema: { type: 'string' }, description: 'Release it is compared with (must differ from canary).' },
            { name: 'since', in: 'query', required: true, schema: { type: 'string', format: 'date-time' }, description: 'ISO-8601 time with a zone, e.g. `2026-01-01T10:00:00Z`.' },
            { name: 'environment', in: 'query', required: false, schema: { type: 'string' }, description: 'Only this environment (default: all).' },
          ],
          responses: {
            '200': { description: 'The counts.', content: { 'application/json': { schema: { $ref: '#/components/schemas/ReleaseCounts' } } } },
            '400': errorResponse('A parameter is missing or invalid (the detail names it).'),
            '401': common['401'],
            '403': errorResponse('The key is unknown or revoked, or belongs to another service than `service`.'),
            '503': common['503'],
          },
        },
      },
      '/v1/errors': {
        post: {
          summary: 'Report errors (native JSON API)',
          description: 'For apps that use neither a Sentry nor an OpenTelemetry SDK. `stack` is a V8 `error.stack`; it is parsed, source-mapped, scrubbed and grouped like Sentry events.',
          security: [{ bearer: [] }, { antibodyKey: [] }],
          requestBody: {
            required: true,
            content: { 'application/json': { schema: { oneOf: [{ $ref: '#/components/schemas/NativeError' }, { $ref: '#/components/schemas/NativeErrors' }] } } },
          },
          responses: {
            '202': {
              description: 'Stored; processed into incidents asynchronously.',
              content: { 'application/json': { schema: { type: 'object', properties: { ids: { type: 'array', items: { type: 'string', format: 'uuid' } } } } } },
            },
            '400': errorResponse('The body is not valid JSON or does not match the schema (the detail names the field).'),
            ...common,
          },
        },
      },
      '/api/{projectId}/envelope/': {
        post: {
          summary: 'Sentry envelope endpoint (also without the trailing slash)',
          description:
            'Point an unmodified Sentry SDK at `http://<ingest key>@<host>:<port>/<any number>`. Any Content-Type; gzip, deflate or br bodies. ' +
            '`event` items are errors, `session`/`sessions` release health, `client_report` SDK drop counts, `transaction` items and segment `span`s per-release request counts and durations; other item types are skipped.',
          security: [{ sentryAuth: [] }, { sentryKey: [] }, {}],
          parameters: [{ name: 'projectId', in: 'path', required: true, schema: { type: 'string', pattern: '^\\d+$' }, description: 'Any number; the key decides the service.' }],
          requestBody: { required: true, content: { 'application/x-sentry-envelope': { schema: { type: 'string' } } } },
          responses: {
            '200': { description: 'Every item stored.', content: { 'application/json': { schema: { type: 'object', properties: { id: { type: 'string' } } } } } },
            '400': errorResponse('Some or all items were rejected (the valid ones are stored; `accepted` and `rejected` list them).'),
            '415': errorResponse('Unsupported Content-Encoding.'),
            ...common,
          },
        },
      },
      '/v1/traces': {
        post: {
          summary: 'OTLP/HTTP traces (JSON or protobuf)',
          description: '`exception` span events become errors; server spans feed per-release request counts. `service.version` is the release, `deployment.environment(.name)` the environment.',
          security: [{ bearer: [] }, { antibodyKey: [] }],
          requestBody: { required: true, content: { 'application/json': { schema: { type: 'object' } }, 'application/x-protobuf': { schema: { type: 'string', format: 'binary' } } } },
          responses: { '200': { description: 'Stored (an ExportTraceServiceResponse, possibly with partialSuccess).' }, '400': errorResponse('Not an OTLP trace export.'), ...common },
        },
      },
      '/v1/logs': {
        post: {
          summary: 'OTLP/HTTP logs (JSON or protobuf)',
          description: 'Log records with `exception.*` attributes become errors.',
          security: [{ bearer: [] }, { antibodyKey: [] }],
          requestBody: { required: true, content: { 'application/json': { schema: { type: 'object' } }, 'application/x-protobuf': { schema: { type: 'string', format: 'binary' } } } },
          responses: { '200': { description: 'Stored (an ExportLogsServiceResponse, possibly with partialSuccess).' }, '400': errorResponse('Not an OTLP logs export.'), ...common },
        },
      },
    },
  };
}
