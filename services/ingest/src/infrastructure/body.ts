import type { IncomingMessage } from 'node:http';
import type { Transform } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';

/** Why a body could not be read; maps to an HTTP status. */
export class BodyError extends Error {
  override readonly name = 'BodyError';
  constructor(
    readonly status: 400 | 413 | 415,
    readonly code: 'body_too_large' | 'decompressed_too_large' | 'bad_encoding' | 'unsupported_encoding' | 'body_aborted',
    message: string,
  ) {
    super(message);
  }
}

/** Limits of {@link readBody}. */
export interface BodyLimits {
  /** Bytes on the wire. */
  readonly maxBodyBytes: number;
  /** Bytes after decompression (caps gzip bombs). */
  readonly maxDecompressedBytes: number;
}

function decoderFor(encoding: string): Transform | undefined | 'unsupported' {
  switch (encoding) {
    case '':
    case 'identity':
      return undefined;
    case 'gzip':
    case 'x-gzip':
      return createGunzip();
    case 'deflate':
      return createInflate();
    case 'br':
      return createBrotliDecompress();
    default:
      return 'unsupported';
  }
}

/**
 * Streams a request body through its `Content-Encoding` (gzip, deflate, br or none), handing each
 * decompressed chunk to `onChunk` as it arrives — nothing is buffered here. Stops and rejects as
 * soon as the wire size or the decompressed size passes its limit (413), the encoding is unknown
 * (415) or the compressed data is corrupt (400). `onChunk` may throw to abort (its error is
 * passed through). Resolves with the decompressed byte count.
 */
export function readBody(req: IncomingMessage, limits: BodyLimits, onChunk: (chunk: Buffer) => void): Promise<number> {
  const encoding = String(req.headers['content-encoding'] ?? '').trim().toLowerCase();
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limits.maxBodyBytes) {
    return Promise.reject(new BodyError(413, 'body_too_large', `the body is ${declared} bytes; the limit is ${limits.maxBodyBytes}`));
  }
  const decoder = decoderFor(encoding);
  if (decoder === 'unsupported') {
    return Promise.reject(new BodyError(415, 'unsupported_encoding', `Content-Encoding "${encoding}" is not supported; use gzip, deflate, br or none`));
  }
  return new Promise<number>((resolve, reject) => {
    let wire = 0;
    let plain = 0;
    let settled = false;
    const fail = (error: unknown): void => {
      if (settled) return;
      settled = true;
      req.unpipe();
      decoder?.destroy();
      // Keep reading (and discarding) so the client gets our answer instead of a reset.
      req.resume();
      reject(error);
    };
    const take = (chunk: Buffer): void => {
      if (settled) return;
      plain += chunk.length;
      if (plain > limits.maxDecompressedBytes) {
        fail(new BodyError(413, 'decompressed_too_large', `the body decompresses to more than ${limits.maxDecompressedBytes} bytes`));
        return;
      }
      try {
        onChunk(chunk);
      } catch (error) {
        fail(error);
      }
    };
    req.on('data', (chunk: Buffer) => {
      if (settled) return;
      wire += chunk.length;
      if (wire > limits.maxBodyBytes) {
        fail(new BodyError(413, 'body_too_large', `the body is larger than ${limits.maxBodyBytes} bytes`));
        return;
      }
      if (decoder) decoder.write(chunk);
      else take(chunk);
    });
    req.on('aborted', () => fail(new BodyError(400, 'body_aborted', 'the client aborted the request')));
    req.on('error', (error) => fail(new BodyError(400, 'body_aborted', `the request failed: ${error.message}`)));
    if (decoder) {
      decoder.on('data', take);
      decoder.on('error', (error: Error) => fail(new BodyError(400, 'bad_encoding', `the ${encoding} body is corrupt: ${error.message}`)));
      decoder.on('end', () => {
        if (!settled) {
          settled = true;
          resolve(plain);
        }
      });
      req.on('end', () => {
        if (!settled) decoder.end();
      });
    } else {
      req.on('end', () => {
        if (!settled) {
          settled = true;
          resolve(plain);
        }
      });
    }
  });
}

/** Reads a whole body into memory (JSON / protobuf APIs), with the same limits and decoding. */
export async function readWholeBody(req: IncomingMessage, limits: BodyLimits): Promise<Buffer> {
  const chunks: Buffer[] = [];
  await readBody(req, limits, (chunk) => chunks.push(chunk));
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}
