import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { z } from 'zod';
import { capturedCallSchema } from '@antibody/contracts';
import { reportFromNative, type ErrorReport, type NativeErrorBody } from '../domain/report';
import { readWholeBody } from './body';
import type { IngestSettings } from './config';
import { bodyFailure, reply, unavailable, type AuthContext, type IntakeRoute, type Reply } from './http-intake';
import { IntakeUnavailableError } from './intake';

const shortText = z.string().min(1).max(512);

/** One error of the native API (the OpenAPI document at /docs describes the same shape). */
export const nativeErrorSchema = z.object({
  type: shortText.optional(),
  message: z.string().max(8192),
  stack: z.string().max(256 * 1024).optional(),
  release: z.string().min(1).max(200).optional(),
  environment: z.string().min(1).max(200).optional(),
  fingerprint: z.array(shortText).max(20).optional(),
  tags: z.record(z.string().max(200), z.string().max(512)).optional(),
  request: z
    .object({
      method: z.string().min(1).max(16).optional(),
      url: z.string().min(1).max(2048),
      headers: z.record(z.string(), z.string()).optional(),
      data: z.unknown().optional(),
    })
    .optional(),
  appRoot: z.string().max(1024).optional(),
  eventId: z.string().max(64).optional(),
  call: capturedCallSchema.optional().describe('The failing call (module, export, arguments), so the validator can make it again and prove a fix.'),
});

/** A batch body: `{ errors: [...] }` with 1 to 100 errors. */
export const nativeListSchema = z.object({ errors: z.array(nativeErrorSchema).min(1).max(100) });

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** `POST /v1/errors`: errors from apps that use neither a Sentry nor an OpenTelemetry SDK. */
export class NativeErrorsRoute implements IntakeRoute {
  readonly name = 'POST /v1/errors';
  readonly source = 'native';

  constructor(private readonly settings: IngestSettings) {}

  async handle(req: IncomingMessage, _url: URL, auth: AuthContext): Promise<Reply> {
    let body: Buffer;
    try {
      body = await readWholeBody(req, { maxBodyBytes: this.settings.INGEST_MAX_ITEM_BYTES, maxDecompressedBytes: this.settings.INGEST_MAX_ITEM_BYTES });
    } catch (error) {
      const failed = bodyFailure(error);
      if (failed) return failed;
      throw error;
    }
    let json: unknown;
    try {
      json = JSON.parse(utf8.decode(body));
    } catch (error) {
      return reply(400, 'invalid_json', `the body is not valid UTF-8 JSON (${error instanceof Error ? error.message : String(error)})`);
    }
    // Pick the shape first, so a validation error names the field instead of "no union member matched".
    const isList = typeof json === 'object' && json !== null && 'errors' in json;
    const parsed = isList ? nativeListSchema.safeParse(json) : nativeErrorSchema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const path = issue?.path.length ? issue.path.join('.') : '(body)';
      return reply(400, 'invalid_report', `${path}: ${issue?.message ?? 'invalid'}; see the OpenAPI document at /docs`);
    }
    const list: NativeErrorBody[] = 'errors' in parsed.data ? parsed.data.errors : [parsed.data];
    const receivedAt = new Date().toISOString();
    const reports: ErrorReport[] = list.map((error) =>
      reportFromNative(error, { service: auth.key.project, receivedAt, scrubber: auth.scrubber, fallbackId: randomUUID() }),
    );
    try {
      await auth.store(reports);
    } catch (error) {
      if (error instanceof IntakeUnavailableError) return unavailable(this.settings);
      throw error;
    }
    return { status: 202, body: { ids: reports.map((r) => r.eventId) } };
  }
}
