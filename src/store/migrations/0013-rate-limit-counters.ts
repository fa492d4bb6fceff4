import type { Kysely, Migration } from 'kysely';

/**
 * Login-attempt counters kept in the database (issue 6, several instances): a fixed window per key
 * (`login-address:<ip>`, `login-account:<member id>`), so that every instance serving the same
 * world draws on the same counters. Counted in process memory, an attacker who spread guesses over
 * N instances got N times the attempts.
 *
 * `window_ends_at` is ISO-8601 (UTC, fixed width, so text order is time order); a row whose window
 * has ended counts as absent and is reset by the next hit or deleted by the purge.
 */
export const rateLimitCounters: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('rate_limit_counters')
      .addColumn('key', 'text', (c) => c.primaryKey())
      .addColumn('hits', 'integer', (c) => c.notNull())
      .addColumn('window_ends_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('rate_limit_counters_window_ends_at').on('rate_limit_counters').column('window_ends_at').execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.dropTable('rate_limit_counters').execute();
  },
};
