import type { FastifyInstance, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';

/** Login attempts allowed per window, per address and per account (whichever runs out first). */
export const LOGIN_ATTEMPTS_PER_ADDRESS = 20;
export const LOGIN_ATTEMPTS_PER_ACCOUNT = 5;
export const LOGIN_WINDOW = '15 minutes';

function accountOf(request: FastifyRequest): string {
  const body = request.body as { member_id?: unknown } | undefined;
  return typeof body?.member_id === 'string' ? body.member_id.trim().toLowerCase() : '';
}

/**
 * The preHandlers of every login form (OAuth and privacy center alike), built once per app so
 * that both forms draw on the same counters: guessing one member's password from two pages, or
 * many members' passwords from one address, is limited either way. Login forms post `member_id`.
 */
export function createLoginThrottle(app: FastifyInstance): preHandlerAsyncHookHandler[] {
  return [
    app.rateLimit({ max: LOGIN_ATTEMPTS_PER_ADDRESS, timeWindow: LOGIN_WINDOW, keyGenerator: (r) => `login-address:${r.ip}` }),
    app.rateLimit({ max: LOGIN_ATTEMPTS_PER_ACCOUNT, timeWindow: LOGIN_WINDOW, keyGenerator: (r) => `login-account:${accountOf(r)}` }),
  ];
}
