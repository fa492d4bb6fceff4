import type { FastifyRateLimitStore, FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { RateLimited } from '../domain/errors.js';
import type { Instant } from '../domain/time.js';
import type { RateLimitCounterRepository } from '../store/rate-limit-counter-repository.js';

/** Login attempts allowed per window, per address and per account (whichever runs out first). */
export const LOGIN_ATTEMPTS_PER_ADDRESS = 20;
export const LOGIN_ATTEMPTS_PER_ACCOUNT = 5;
export const LOGIN_WINDOW_MS = 15 * 60_000;

function accountOf(request: FastifyRequest): string {
  const body = request.body as { member_id?: unknown } | undefined;
  return typeof body?.member_id === 'string' ? body.member_id.trim().toLowerCase() : '';
}

/**
 * @fastify/rate-limit's store, backed by the database's counters instead of process memory, so
 * that every instance serving the world counts the same attempts (README "Scaling out"), and
 * dated by the app's clock, like everything else the server decides.
 */
export function databaseCounterStore(counters: RateLimitCounterRepository, clock: () => Instant): FastifyRateLimitStoreCtor {
  return class DatabaseCounterStore implements FastifyRateLimitStore {
    incr(key: string, callback: (error: Error | null, result?: { current: number; ttl: number }) => void, timeWindow = LOGIN_WINDOW_MS): void {
      const now = clock();
      counters.hit(key, timeWindow, now).then(
        (state) => callback(null, { current: state.hits, ttl: Math.max(0, state.windowEndsAt - now) }),
        (error: Error) => callback(error),
      );
    }

    child(): FastifyRateLimitStore {
      return this;
    }
  };
}

/**
 * One counter as a preHandler. `app.rateLimit()` is not used here: every limiter it makes marks
 * the request as "rate limit ran", so a second one on the same route returns without counting
 * (the per-account limit never applied behind the per-address one). `createRateLimit` only counts
 * and answers; the refusal is ours.
 */
export function limiter(app: FastifyInstance, max: number, keyGenerator: (request: FastifyRequest) => string): preHandlerAsyncHookHandler {
  const check = app.createRateLimit({ max, timeWindow: LOGIN_WINDOW_MS, keyGenerator });
  return async (request, reply) => {
    const result = await check(request);
    if (!result.isAllowed && result.isExceeded) {
      reply.header('retry-after', String(result.ttlInSeconds));
      throw new RateLimited('Too many login attempts; wait before trying again.');
    }
  };
}

/**
 * The preHandlers of every login form (OAuth and privacy center alike), built once per app so
 * that both forms draw on the same counters: guessing one member's password from two pages, or
 * many members' passwords from one address, is limited either way. Login forms post `member_id`.
 */
export function createLoginThrottle(app: FastifyInstance): preHandlerAsyncHookHandler[] {
  return [
    limiter(app, LOGIN_ATTEMPTS_PER_ADDRESS, (r) => `login-address:${r.ip}`),
    limiter(app, LOGIN_ATTEMPTS_PER_ACCOUNT, (r) => `login-account:${accountOf(r)}`),
  ];
}
