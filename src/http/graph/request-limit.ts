import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import { RateLimited } from '../../domain/errors.js';
import type { Instant } from '../../domain/time.js';
import { bearerOf } from '../bearer.js';

/** How many Graph API requests one access token may make in one window. */
export interface GraphRateLimit {
  readonly max: number;
  readonly windowMs: number;
}

/** The default: 1,200 requests a minute per access token (20 a second on average). */
export const GRAPH_RATE_LIMIT: GraphRateLimit = { max: 1_200, windowMs: 60_000 };

/**
 * No refusal, however many requests (the benchmarks: their clock stands still, so a window never
 * ends); the counting still runs, so what it costs is measured.
 */
export const UNLIMITED_GRAPH_REQUESTS: GraphRateLimit = { max: Number.MAX_SAFE_INTEGER, windowMs: 60_000 };

/** The headers every Graph API answer carries (README, "Rate limits"); a 429 adds `retry-after`. */
export const RATE_LIMIT_HEADERS = {
  limit: 'x-ratelimit-limit',
  remaining: 'x-ratelimit-remaining',
  reset: 'x-ratelimit-reset',
} as const;

/** Past this many counters, those whose window has ended are dropped, then the oldest: garbage tokens cannot grow memory without bound. */
const MAX_COUNTERS = 100_000;

interface Window {
  hits: number;
  readonly endsAt: Instant;
}

/**
 * Fixed-window counters in this process's memory, dated by the app's clock. Not the database's
 * counters (those of the login throttle): a Graph API request must not pay a write and, on
 * PostgreSQL, a commit of its own, when its audit entries are committed in shared batches. Each
 * server therefore counts the requests it serves (README, "Rate limits"). @fastify/rate-limit is not
 * used for it: the app's one instance of it counts in the database, and its memory store reads the
 * wall clock instead of the app's.
 */
export class RequestCounter {
  private readonly windows = new Map<string, Window>();

  constructor(private readonly limit: GraphRateLimit, private readonly clock: () => Instant) {}

  /** Counts one request for `key`: how many it has made in the current window, and when that ends. */
  hit(key: string): { hits: number; endsAt: Instant } {
    const now = this.clock();
    let window = this.windows.get(key);
    if (window === undefined || window.endsAt <= now) {
      if (window === undefined && this.windows.size >= MAX_COUNTERS) this.prune(now);
      window = { hits: 0, endsAt: now + this.limit.windowMs };
      this.windows.delete(key);
      this.windows.set(key, window);
    }
    window.hits += 1;
    return { hits: window.hits, endsAt: window.endsAt };
  }

  private prune(now: Instant): void {
    for (const [key, window] of this.windows) if (window.endsAt <= now) this.windows.delete(key);
    for (const key of this.windows.keys()) {
      if (this.windows.size < MAX_COUNTERS) break;
      this.windows.delete(key);
    }
  }
}

/**
 * The Graph API's limit, as an onRequest hook: per access token (by its hash: the token itself is
 * never kept), or per client address for a request without one. Every answer says where the caller
 * stands; past the limit the request is refused with 429 `rate_limited` before it reaches the rules
 * (and so is not audited, like any request refused before its token is read).
 */
export function graphRateLimit(limit: GraphRateLimit, clock: () => Instant): onRequestAsyncHookHandler {
  const counter = new RequestCounter(limit, clock);
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const bearer = bearerOf(request);
    const key = bearer === undefined ? `address:${request.ip}` : `token:${createHash('sha256').update(bearer).digest('base64url')}`;
    const { hits, endsAt } = counter.hit(key);
    const resetSeconds = Math.max(0, Math.ceil((endsAt - clock()) / 1000));
    reply.header(RATE_LIMIT_HEADERS.limit, String(limit.max));
    reply.header(RATE_LIMIT_HEADERS.remaining, String(Math.max(0, limit.max - hits)));
    reply.header(RATE_LIMIT_HEADERS.reset, String(resetSeconds));
    if (hits > limit.max) {
      reply.header('retry-after', String(resetSeconds));
      throw new RateLimited(`This access token made more than ${limit.max} requests in ${limit.windowMs / 1000} seconds; try again after the time in Retry-After.`);
    }
  };
}
