import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DatabaseUnavailable, DatapactError, Unavailable } from '../domain/errors.js';

interface ErrorBody {
  error: { code: string; message: string; request_id: string; cause?: string };
}

function body(request: FastifyRequest, code: string, message: string, cause?: string): ErrorBody {
  return { error: { code, message, request_id: request.id, ...(cause === undefined ? {} : { cause }) } };
}

/**
 * The one place errors become responses, all in the shape of PRODUCT.md §7. Product errors carry
 * their own status and code; Fastify's own 4xx (validation, malformed JSON, oversized bodies)
 * keep their status; anything else is a bug: logged in full, answered with no internals.
 */
export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError | DatapactError, request: FastifyRequest, reply: FastifyReply) => {
    if (error instanceof DatapactError) {
      if (error instanceof DatabaseUnavailable) logDatabaseFault(request, error);
      if (error instanceof Unavailable) reply.header('retry-after', String(error.retryAfterSeconds));
      return reply.status(error.status).send(body(request, error.code, error.message, error.exposedCause));
    }
    if (error.validation) {
      return reply.status(400).send(body(request, 'invalid_parameter', error.message));
    }
    const status = error.statusCode ?? 500;
    if (status === 429) {
      return reply.status(429).send(body(request, 'rate_limited', 'Too many attempts; wait before trying again.'));
    }
    if (status >= 400 && status < 500) {
      return reply.status(status).send(body(request, 'invalid_request', error.message));
    }
    request.log.error({ err: error }, 'unhandled error');
    return reply.status(500).send(body(request, 'internal_error', 'Something went wrong on our side; the request id identifies it.'));
  });

  app.setNotFoundHandler((request, reply) => {
    reply.status(404).send(body(request, 'not_found', `No route ${request.method} ${request.url.split('?')[0]}.`));
  });
}

/** The driver's own error, named (SQLITE_FULL, 53100, ECONNREFUSED…): what an operator has to fix. */
function logDatabaseFault(request: FastifyRequest, error: DatabaseUnavailable): void {
  const cause = error.cause instanceof Error ? error.cause.message : String(error.cause);
  request.log.error({ err: error, fault: error.fault }, `database fault ${error.fault}: ${cause}`);
}
