import type { Kysely } from 'kysely';

export type Dialect = 'sqlite' | 'postgres';

/**
 * Which database a Kysely instance (or transaction) talks to. Its own module, so that migrations
 * can ask without importing database.ts, which imports them.
 */
export function dialectOf(db: Kysely<any>): Dialect {
  return db.getExecutor().adapter.constructor.name === 'PostgresAdapter' ? 'postgres' : 'sqlite';
}
