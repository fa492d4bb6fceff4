import type { FastifyRateLimitStore, FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { RateLimited } from '../domain/errors.js';
import type { Instant } from '../domain/time.js';
import type { RateLimitCounterRepository } from '../store/rate-limit-counter-repository.js';
import { normalizeEmail } from '../store/staff-repository.js';

/**
 * Failed login attempts allowed per address and per account (whichever runs out first). Only
 * failures count: every attempt is counted as it arrives (so that attempts in flight at once cannot
 * overshoot), and a correct login takes its own count back from its address and clears its
 * account's failures.
 *
 * Per address, two windows: 20 failures in 15 minutes lets a crowd behind one NAT mistype, but a
 * password spray from one address gets at most 100 guesses a day (not 20 × 96).
 */
export const LOGIN_ATTEMPTS_PER_ADDRESS = 20;
export const LOGIN_ATTEMPTS_PER_ACCOUNT = 5;
export const LOGIN_WINDOW_MS = 15 * 60_000;
export const LOGIN_FAILURES_PER_ADDRESS_PER_DAY = 100;
export const LOGIN_DAY_MS = 24 * 60 * 60_000;

function memberIdOf(request: FastifyRequest): string {
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

/** One counted limit: a key per request, at most `max` hits in `windowMs`. */
interface Limit {
  readonly max: number;
  readonly windowMs: number;
  readonly keyOf: (request: FastifyRequest) => string;
}

/**
 * One counter as a preHandler. `app.rateLimit()` is not used here: every limiter it makes marks
 * the request as "rate limit ran", so a second one on the same route returns without counting
 * (the per-account limit never applied behind the per-address one). `createRateLimit` only counts
 * and answers; the refusal is ours.
 */
function limiter(app: FastifyInstance, limit: Limit): preHandlerAsyncHookHandler {
  const check = app.createRateLimit({ max: limit.max, timeWindow: limit.windowMs, keyGenerator: limit.keyOf });
  return async (request, reply) => {
    const result = await check(request);
    if (!result.isAllowed && result.isExceeded) {
      reply.header('retry-after', String(result.ttlInSeconds));
      throw new RateLimited('Too many login attempts; wait before trying again.');
    }
  };
}

/** A login form's throttle: its preHandlers count the attempt; the handler reports a success. */
export interface LoginThrottle {
  readonly preHandler: preHandlerAsyncHookHandler[];
  /**
   * The attempt succeeded (every factor right): it no longer counts against the address, and the
   * account's failures are forgotten. An attempt never reported here stays counted as a failure.
   */
  succeeded(request: FastifyRequest): Promise<void>;
}

/**
 * The throttle of one kind of login (`login` for members, `staff-login` for staff), counting per
 * address and per account; `accountOf` reads the account as typed, normalized, from the request.
 */
export function createLoginThrottle(
  app: FastifyInstance,
  counters: RateLimitCounterRepository,
  clock: () => Instant,
  kind: string,
  accountOf: (request: FastifyRequest) => string,
): LoginThrottle {
  const perAddress: Limit[] = [
    { max: LOGIN_ATTEMPTS_PER_ADDRESS, windowMs: LOGIN_WINDOW_MS, keyOf: (r) => `${kind}-address:${r.ip}` },
    { max: LOGIN_FAILURES_PER_ADDRESS_PER_DAY, windowMs: LOGIN_DAY_MS, keyOf: (r) => `${kind}-address-day:${r.ip}` },
  ];
  const perAccount: Limit = { max: LOGIN_ATTEMPTS_PER_ACCOUNT, windowMs: LOGIN_WINDOW_MS, keyOf: (r) => `${kind}-account:${accountOf(r)}` };
  return {
    preHandler: [...perAddress, perAccount].map((limit) => limiter(app, limit)),
    async succeeded(request) {
      const now = clock();
      for (const limit of perAddress) await counters.unhit(limit.keyOf(request), now);
      await counters.clear(perAccount.keyOf(request));
    },
  };
}

/**
 * The throttle of every member login form (OAuth and privacy center alike), built once per app so
 * that both forms draw on the same counters: guessing one member's password from two pages, or
 * many members' passwords from one address, is limited either way. Login forms post `member_id`.
 */
export function createMemberLoginThrottle(app: FastifyInstance, counters: RateLimitCounterRepository, clock: () => Instant): LoginThrottle {
  return createLoginThrottle(app, counters, clock, 'login', memberIdOf);
}

/**
 * The throttle of staff logins, and of every staff action that asks for the password or a
 * two-factor code again (so a stolen session cannot guess them either): per address, and per
 * account by the email posted or, once authenticated, the account's own.
 */
export function createStaffLoginThrottle(app: FastifyInstance, counters: RateLimitCounterRepository, clock: () => Instant): LoginThrottle {
  return createLoginThrottle(app, counters, clock, 'staff-login', (request) => {
    if (request.staff) return request.staff.email;
    const body = request.body as { email?: unknown } | undefined;
    return typeof body?.email === 'string' ? normalizeEmail(body.email) : '';
  });
}
