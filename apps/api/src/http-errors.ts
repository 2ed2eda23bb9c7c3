/**
 * Errors outside GraphQL execution (bad JSON, oversized bodies, unknown routes, failed
 * uploads) answered in the GraphQL error shape as JSON, never as Express's HTML page.
 */
import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from 'pino';

export interface HttpErrorBody {
  errors: { message: string; extensions: { code: string; [key: string]: unknown } }[];
}

/** `extra` adds machine-readable details to extensions (e.g. a quota's used and limit bytes). */
export function sendJsonError(res: Response, status: number, code: string, message: string, extra: Record<string, unknown> = {}): void {
  const body: HttpErrorBody = { errors: [{ message, extensions: { ...extra, code } }] };
  res.status(status).type('application/json').send(JSON.stringify(body));
}

interface ErrorWithStatus {
  status?: number;
  statusCode?: number;
  type?: string;
  expose?: boolean;
  message?: string;
}

/** `debug` (GRAPHQL_DEBUG_ERRORS=1) puts the internal message into the answer. */
export function jsonErrorHandler(debug: boolean, log: Logger) {
  return (err: unknown, req: Request, res: Response, _next: NextFunction): void => {
    const e = (typeof err === 'object' && err !== null ? err : {}) as ErrorWithStatus;
    const status = e.status ?? e.statusCode ?? 500;
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (e.type === 'entity.parse.failed') return sendJsonError(res, 400, 'BAD_REQUEST', 'the request body is not valid JSON');
    if (e.type === 'entity.too.large') return sendJsonError(res, 413, 'PAYLOAD_TOO_LARGE', 'the request body is too large');
    if (status >= 400 && status < 500) {
      return sendJsonError(res, status, 'BAD_REQUEST', e.expose && e.message ? e.message : 'bad request');
    }
    const correlationId = randomUUID();
    log.error({ err, method: req.method, url: req.originalUrl, correlationId }, 'request failed');
    const message = debug && e.message ? e.message : `internal server error (correlation id ${correlationId})`;
    sendJsonError(res, 500, 'INTERNAL_SERVER_ERROR', message, { correlationId });
  };
}

export function notFoundHandler(_req: Request, res: Response): void {
  sendJsonError(res, 404, 'NOT_FOUND', 'no such endpoint; GraphQL is served at /graphql');
}
