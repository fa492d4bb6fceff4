import { sql } from 'kysely';
import type { Db } from './database.js';
import { dialectOf } from './dialect.js';

/**
 * Runs `work` while holding a PostgreSQL advisory lock named by `key`, so that of several servers
 * starting on one database only one does it at a time (the lock is held by one connection of the
 * pool; `work` may use the others). On SQLite, one server per file, it just runs.
 */
export async function whileHoldingLock<T>(db: Db, key: number, work: () => Promise<T>): Promise<T> {
  if (dialectOf(db) !== 'postgres') return work();
  return db.connection().execute(async (connection) => {
    await sql`select pg_advisory_lock(${key})`.execute(connection);
    try {
      return await work();
    } finally {
      await sql`select pg_advisory_unlock(${key})`.execute(connection);
    }
  });
}
