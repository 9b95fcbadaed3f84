import fp from 'fastify-plugin';
import type { FastifyError, FastifyInstance } from 'fastify';
import { DEPENDENCY_RETRY_AFTER_S, unavailableDependency } from './dependency-errors.js';

/**
 * The one error shape every HTTP client sees: `{ code, message, details? }`, where `code` is a
 * stable machine-readable string. 5xx bodies never carry internals (the log does).
 */
export interface ErrorBody {
  code: string;
  message: string;
  details?: unknown;
}

/** Throw this from a route to answer with a given status and stable code. */
export class AppError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'AppError';
  }
}

export const badRequest = (message: string, details?: unknown) => new AppError(400, 'bad_request', message, details);
export const notFound = (message = 'Not found') => new AppError(404, 'not_found', message);

const CODE_BY_STATUS: Record<number, string> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  406: 'not_acceptable',
  409: 'conflict',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  422: 'unprocessable',
  429: 'rate_limited',
  503: 'unavailable',
};

export function codeForStatus(status: number): string {
  return CODE_BY_STATUS[status] ?? (status >= 500 ? 'internal' : 'error');
}

/** Maps any thrown value to a status and a safe body (and the Retry-After to send, in seconds, if any). */
export function toErrorResponse(err: unknown): { status: number; body: ErrorBody; retryAfterS?: number } {
  if (err instanceof AppError) {
    const body: ErrorBody = { code: err.code, message: err.message };
    if (err.details !== undefined) body.details = err.details;
    return { status: err.statusCode, body };
  }
  const fe = err as Partial<FastifyError> | undefined;
  if (fe?.validation) {
    return { status: 400, body: { code: 'bad_request', message: fe.message ?? 'Invalid request', details: fe.validation } };
  }
  const status = typeof fe?.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 600 ? fe.statusCode : 500;
  const dependency = status === 500 ? unavailableDependency(err) : null;
  if (dependency) {
    return {
      status: 503,
      body: { code: 'dependency_unavailable', message: `${dependency} is unavailable; retry later`, details: { dependency } },
      retryAfterS: DEPENDENCY_RETRY_AFTER_S,
    };
  }
  if (status >= 500) {
    return { status, body: { code: codeForStatus(status), message: status === 503 ? 'Service unavailable' : 'Internal server error' } };
  }
  return { status, body: { code: codeForStatus(status), message: fe?.message ?? 'Request failed' } };
}

export const errorsPlugin = fp(
  async function errors(app: FastifyInstance) {
    app.setErrorHandler((err, request, reply) => {
      const { status, body, retryAfterS } = toErrorResponse(err);
      // an outage is not a bug: warn, with the error, and let the client retry
      if (body.code === 'dependency_unavailable') request.log.warn({ err, code: body.code }, 'request met an unavailable dependency');
      else if (status >= 500) request.log.error({ err }, 'request failed');
      else request.log.info({ code: body.code, status }, 'request rejected');
      if (retryAfterS !== undefined) reply.header('retry-after', String(retryAfterS));
      return reply.code(status).send(body);
    });
    app.setNotFoundHandler((request, reply) => {
      return reply.code(404).send({ code: 'not_found', message: `Route ${request.method} ${request.url.split('?')[0]} not found` });
    });
  },
  { name: 'dispatchd-errors', fastify: '5.x' },
);
