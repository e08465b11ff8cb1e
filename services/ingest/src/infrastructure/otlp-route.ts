import type { IncomingMessage } from 'node:http';
import { deterministicEventId } from '@antibody/event-store';
import { fromOtlpLogs, fromOtlpTraces, type OtlpResult } from '../domain/otlp';
import { decodeLogsRequest, decodeTraceRequest, ProtobufError } from '../domain/otlp-protobuf';
import { readWholeBody } from './body';
import type { IngestSettings } from './config';
import { bodyFailure, reply, unavailable, type AuthContext, type IntakeRoute, type Reply } from './http-intake';
import { IntakeUnavailableError } from './intake';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * `POST /v1/traces` and `POST /v1/logs` (OTLP/HTTP, JSON or protobuf by Content-Type). Answers
 * 200 with an (empty or `partialSuccess`) export response in the request's encoding once the
 * reports are stored; 503 + Retry-After when they cannot be (the OTLP exporters retry).
 */
export class OtlpRoute implements IntakeRoute {
  readonly name = 'POST /v1/:signal';
  readonly source = 'otlp';

  constructor(private readonly settings: IngestSettings) {}

  async handle(req: IncomingMessage, url: URL, auth: AuthContext): Promise<Reply> {
    const signal = url.pathname.includes('/v1/logs') ? 'logs' : 'traces';
    const contentType = String(req.headers['content-type'] ?? '').toLowerCase();
    const protobuf = contentType.includes('protobuf');
    if (!protobuf && !contentType.includes('json')) {
      return reply(415, 'unsupported_media_type', 'send OTLP as application/json or application/x-protobuf');
    }
    let body: Buffer;
    try {
      body = await readWholeBody(req, { maxBodyBytes: this.settings.INGEST_MAX_BODY_BYTES, maxDecompressedBytes: this.settings.INGEST_MAX_DECOMPRESSED_BYTES });
    } catch (error) {
      const failed = bodyFailure(error);
      if (failed) return failed;
      throw error;
    }
    let message: Record<string, unknown>;
    try {
      if (protobuf) message = signal === 'logs' ? decodeLogsRequest(body) : decodeTraceRequest(body);
      else {
        const parsed: unknown = JSON.parse(utf8.decode(body));
        if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return reply(400, 'invalid_json', `the body is not an OTLP ${signal} export object`);
        message = parsed as Record<string, unknown>;
      }
    } catch (error) {
      if (error instanceof ProtobufError) return reply(400, 'invalid_protobuf', `the body is not an OTLP ${signal} protobuf message: ${error.message}`);
      return reply(400, 'invalid_json', `the body is not valid UTF-8 JSON (${error instanceof Error ? error.message : String(error)})`);
    }
    const context = {
      service: auth.key.project,
      receivedAt: new Date().toISOString(),
      scrubber: auth.scrubber,
      idFrom: (seed: string) => deterministicEventId(seed, 'otlp'),
    };
    let result: OtlpResult;
    try {
      result = signal === 'logs' ? fromOtlpLogs(message, context) : fromOtlpTraces(message, context);
    } catch (error) {
      return reply(400, 'invalid_otlp', `the ${signal} export could not be read: ${error instanceof Error ? error.message : String(error)}`);
    }
    try {
      await auth.store(result.reports);
    } catch (error) {
      if (error instanceof IntakeUnavailableError) return unavailable(this.settings);
      throw error;
    }
    const partial = result.rejected > 0 ? { partialSuccess: { [signal === 'logs' ? 'rejectedLogRecords' : 'rejectedSpans']: String(result.rejected), errorMessage: result.rejectedReason } } : {};
    if (protobuf) {
      // An empty Export*ServiceResponse (partial success is reported in JSON only).
      return { status: 200, body: Buffer.alloc(0), headers: { 'content-type': 'application/x-protobuf' } };
    }
    return { status: 200, body: partial };
  }
}
