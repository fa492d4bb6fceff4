import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, FastifyServerOptions, RouteOptions } from 'fastify';
import { Type } from 'typebox';
import { DatabaseUnavailable, DatapactError, describePath, errorBody, Unavailable, type ErrorBody } from '../domain/errors.js';
import { describeValidation } from './validation.js';

function body(request: FastifyRequest, code: string, message: string, cause?: string): ErrorBody {
  return errorBody(request.id, code, message, cause);
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
      return reply.status(400).send(body(request, 'invalid_parameter', describeValidation(error.validation, error.validationContext, error.message)));
    }
    const status = error.statusCode ?? 500;
    if (status === 429) {
      return reply.status(429).send(body(request, 'rate_limited', 'Too many attempts; wait before trying again.'));
    }
    if (status === 415) {
      return reply.status(415).send(body(request, 'invalid_request', `This endpoint takes a JSON body: send it with Content-Type: application/json${
        request.headers['content-type'] === undefined ? '' : ' (not the Content-Type given)'}.`));
    }
    if (status >= 400 && status < 500) {
      return reply.status(status).send(body(request, 'invalid_request', error.message));
    }
    request.log.error({ err: error }, 'unhandled error');
    return reply.status(500).send(body(request, 'internal_error', 'Something went wrong on our side; the request id identifies it.'));
  });

  app.addHook('onRoute', documentFrameworkStatuses);

  app.setNotFoundHandler((request, reply) => {
    reply.status(404).send(body(request, 'not_found', `No route ${request.method} ${describePath(request.url)}.`));
  });
}

/** The driver's own error, named (SQLITE_FULL, 53100, ECONNREFUSED…): what an operator has to fix. */
function logDatabaseFault(request: FastifyRequest, error: DatabaseUnavailable): void {
  const cause = error.cause instanceof Error ? error.cause.message : String(error.cause);
  request.log.error({ err: error, fault: error.fault }, `database fault ${error.fault}: ${cause}`);
}

/**
 * Refusals from below the application, in the same shape: Node's HTTP parser (`clientErrorHandler`:
 * headers too large, malformed requests, timeouts) and Fastify's router (`frameworkErrors`: a path
 * that is not valid percent-encoded UTF-8, an overlong path segment). Neither repeats the URL.
 */
export const LOW_LEVEL_ERRORS: Pick<FastifyServerOptions, 'clientErrorHandler' | 'frameworkErrors'> = {
  clientErrorHandler(this: FastifyInstance, error: NodeJS.ErrnoException & { reason?: string }, socket: Socket) {
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    const [status, code, message] = clientError(error);
    this.log.debug({ err: error }, 'refused by the HTTP parser');
    if (socket.writable) {
      const requestId = randomUUID();
      const payload = JSON.stringify(errorBody(requestId, code, message));
      socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: application/json; charset=utf-8\r\n`
        + `content-length: ${Buffer.byteLength(payload)}\r\nx-request-id: ${requestId}\r\nconnection: close\r\n\r\n${payload}`);
    }
    socket.destroy(error);
  },
  frameworkErrors,
};

function frameworkErrors(error: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  reply.header('x-request-id', request.id);
  if (error.code === 'FST_ERR_MAX_PARAM_LENGTH') {
    return reply.status(414).send(body(request, 'uri_too_long', 'A path parameter is longer than 1,000 characters: no id is that long.'));
  }
  if (error.code === 'FST_ERR_BAD_URL') {
    return reply.status(400).send(body(request, 'invalid_request', 'The path is not valid: a percent-encoded byte is not part of UTF-8 text.'));
  }
  request.log.error({ err: error }, 'unhandled router error');
  return reply.status(500).send(body(request, 'internal_error', 'Something went wrong on our side; the request id identifies it.'));
}

function clientError(error: NodeJS.ErrnoException & { reason?: string }): [number, string, string] {
  if (error.code === 'HPE_HEADER_OVERFLOW') return [431, 'headers_too_large', 'The request line and headers are larger than the server takes (16 KiB).'];
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') return [408, 'request_timeout', 'The request was not received in time.'];
  // llhttp's reasons are fixed texts (`Invalid header value char`, `Duplicate Content-Length`), never the request's bytes.
  const reason = typeof error.reason === 'string' && /^[\w ,.'-]{1,100}$/.test(error.reason) ? `: ${error.reason}` : '';
  return [400, 'invalid_request', `The request is not valid HTTP/1.1${reason}.`];
}

/** Methods whose requests Fastify parses a body for (never GET or HEAD). */
const BODY_METHODS: ReadonlySet<string> = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * The statuses any documented operation may answer whatever its handler does, added to its OpenAPI
 * responses (with the shared ErrorResponse) so that the document lists what the server answers: 400
 * (a parameter or body its schema refuses, a path that is not UTF-8), 414 (an overlong path
 * parameter), and for a method that takes a body 413 (over the body limit) and 415 (not JSON).
 */
function documentFrameworkStatuses(route: RouteOptions): void {
  const schema = route.schema as { response?: Record<string, unknown>; hide?: boolean } | undefined;
  if (schema?.response === undefined || schema.hide) return;
  const takesBody = [route.method].flat().some((method) => BODY_METHODS.has(method));
  const statuses = [400, ...(route.url.includes(':') ? [414] : []), ...(takesBody ? [413, 415] : [])];
  const added = Object.fromEntries(statuses.map((status) => [String(status), Type.Ref('ErrorResponse')]));
  route.schema = { ...schema, response: { ...added, ...schema.response } };
}
