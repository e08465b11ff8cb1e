import { z } from 'zod';
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
  const nativeError = z.toJSONSchema(nativeErrorSchema, { target: 'draft-2020-12' }) as Record<string, unknown>;
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
        'Error intake for applications under care: the Sentry envelope endpoint (for unmodified Sentry SDKs), OTLP/HTTP logs and traces, and a native JSON API. ' +
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
        NativeErrors: { type: 'object', required: ['errors'], properties: { errors: { type: 'array', minItems: 1, maxItems: 100, items: { $ref: '#/components/schemas/NativeError' } } } },
      },
    },
    paths: {
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
            '`event` items are errors, `session`/`sessions` release health, `client_report` SDK drop counts; other item types are skipped.',
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
