import { Catch, HttpException, HttpStatus, Logger, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { ServerResponse } from 'node:http';

/** The body of every error answer: a stable code and one line saying what was wrong and how to fix it. */
export interface ErrorBody {
  readonly error: string;
  readonly detail: string;
}

/** An HTTP error with the console's body. */
export function httpError(status: HttpStatus, error: string, detail: string): HttpException {
  return new HttpException({ error, detail } satisfies ErrorBody, status);
}

/**
 * Answers every error as `{ error, detail }`: the console's own errors as they are, Nest's (an
 * unknown route, a body that is not JSON) with their message, anything else as 500 without the
 * stack (logged instead).
 */
@Catch()
export class ConsoleErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('Console');

  catch(exception: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<ServerResponse>();
    const send = (status: number, body: object) => {
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
      res.end(JSON.stringify(body));
    };
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const body = exception.getResponse();
      if (typeof body === 'object' && body !== null && 'error' in body && 'detail' in body) {
        send(status, body);
        return;
      }
      // Others' answers (the platform's /health 503 report) keep their own body.
      if (status !== 404 && status !== 400 && typeof body === 'object' && body !== null) {
        send(status, body);
        return;
      }
      const message = typeof body === 'object' && body !== null && 'message' in body ? String((body as { message: unknown }).message) : exception.message;
      const code = status === 404 ? 'not_found' : status === 400 ? 'bad_request' : `http_${status}`;
      const detail = status === 404 ? `${message}; see /openapi.json for the routes` : status === 400 ? `${message}; send a JSON body with Content-Type: application/json` : message;
      send(status, { error: code, detail } satisfies ErrorBody);
      return;
    }
    this.logger.error(exception instanceof Error ? (exception.stack ?? exception.message) : String(exception));
    send(500, { error: 'internal', detail: 'the console failed to answer; the error is in its log. Retry, or check /health' } satisfies ErrorBody);
  }
}
