import type { IncomingMessage } from 'node:http';
import type { FastifyBaseLogger } from 'fastify';
import type { KoaContextWithOIDC } from 'oidc-provider';
import { describePath, errorBody } from '../domain/errors.js';

/** The request id Fastify gave the request (@fastify/middie copies it onto the raw request). */
export function requestIdOf(request: IncomingMessage): string {
  return String((request as IncomingMessage & { id?: unknown }).id ?? '');
}

/** The resume URL (`/authorize/<interaction uid>`): its parameters live in the interaction, never in its query. */
const RESUME_PATH = /^\/authorize\/[^/]+\/?$/;

/**
 * Koa middleware around everything oidc-provider answers under /oauth, so that no input gets a
 * bare answer from below:
 * - a path the provider does not serve: 404 in the shape of every other error (OAuth defines none);
 * - the resume URL with parameters: oidc-provider's authorization error handler would read them,
 *   find the client, and fail on the interaction parameters it does not have (a TypeError, 500): a
 *   resume takes none, so they are dropped and the request is refused as any stale resume is;
 * - an error that escapes the provider (a bug): logged, and answered in OAuth's form (RFC 6749
 *   §5.2's `server_error`), without internals.
 */
export function answerInOwnShapes(log: () => FastifyBaseLogger) {
  return async (ctx: KoaContextWithOIDC, next: () => Promise<void>): Promise<void> => {
    if (RESUME_PATH.test(ctx.path) && ctx.querystring !== '') ctx.querystring = '';
    try {
      await next();
    } catch (error) {
      log().error({ err: error, reqId: requestIdOf(ctx.req) }, 'oauth request failed');
      ctx.status = 500;
      ctx.type = 'json';
      ctx.body = { error: 'server_error', error_description: 'Something went wrong on our side; the x-request-id header identifies the request.' };
      return;
    }
    if (ctx.status === 404 && ctx.body == null) {
      ctx.status = 404;
      ctx.type = 'json';
      ctx.body = errorBody(requestIdOf(ctx.req), 'not_found', `No route ${ctx.method} /oauth${describePath(ctx.url)}.`);
    }
  };
}
