import type { Instant } from '../domain/time.js';
import { fromIso, toIso } from './columns.js';
import type { Db } from './database.js';

/** A counter after one more hit: hits in the current window and when that window ends. */
export interface CounterState {
  readonly hits: number;
  readonly windowEndsAt: Instant;
}

/**
 * Fixed-window counters in the database, shared by every instance on it (login throttling).
 * A hit is one statement, an upsert that reads its result back, so two instances counting the
 * same key at the same moment never lose a hit: the database serializes the row's updates.
 */
export class RateLimitCounterRepository {
  constructor(private readonly db: Db) {}

  /** Counts one hit on `key`; a window that has ended starts over at this hit and lasts `windowMs`. */
  async hit(key: string, windowMs: number, now: Instant): Promise<CounterState> {
    const nowIso = toIso(now);
    const row = await this.db
      .insertInto('rate_limit_counters')
      .values({ key, hits: 1, window_ends_at: toIso(now + windowMs) })
      .onConflict((oc) => oc.column('key').doUpdateSet((eb) => {
        const ended = eb('rate_limit_counters.window_ends_at', '<=', nowIso);
        return {
          hits: eb.case().when(ended).then(1).else(eb('rate_limit_counters.hits', '+', 1)).end(),
          window_ends_at: eb.case().when(ended).then(eb.ref('excluded.window_ends_at')).else(eb.ref('rate_limit_counters.window_ends_at')).end(),
        };
      }))
      .returning(['hits', 'window_ends_at'])
      .executeTakeFirstOrThrow();
    return { hits: Number(row.hits), windowEndsAt: fromIso(row.window_ends_at) };
  }

  /**
   * Takes one hit back (an attempt that turned out not to count, e.g. a correct login), in the
   * current window only and never below zero.
   */
  async unhit(key: string, now: Instant): Promise<void> {
    await this.db
      .updateTable('rate_limit_counters')
      .set((eb) => ({ hits: eb('hits', '-', 1) }))
      .where('key', '=', key)
      .where('hits', '>', 0)
      .where('window_ends_at', '>', toIso(now))
      .execute();
  }

  /** Forgets a key's hits (a correct login clears its account's failures). */
  async clear(key: string): Promise<void> {
    await this.db.deleteFrom('rate_limit_counters').where('key', '=', key).execute();
  }

  /** Deletes the counters whose window has ended (they identify addresses and accounts); returns how many. */
  async purgeEnded(now: Instant): Promise<number> {
    const result = await this.db.deleteFrom('rate_limit_counters').where('window_ends_at', '<=', toIso(now)).executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
