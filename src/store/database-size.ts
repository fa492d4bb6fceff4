import { statSync } from 'node:fs';
import { sql } from 'kysely';
import { dialectOf, type Db } from './database.js';

/**
 * What a database takes on disk: PostgreSQL's `pg_database_size` (tables, indexes, TOAST, free
 * space maps; not the WAL), or a SQLite file plus its WAL, which holds committed pages not yet
 * copied back into the file.
 */
export async function databaseBytes(db: Db, location: string): Promise<number> {
  if (dialectOf(db) === 'postgres') {
    const { rows } = await sql<{ bytes: string | number }>`select pg_database_size(current_database()) as bytes`.execute(db);
    return Number(rows[0]!.bytes);
  }
  let bytes = 0;
  for (const suffix of ['', '-wal']) {
    try {
      bytes += statSync(location + suffix).size;
    } catch {
      // No WAL file (or an in-memory database): nothing to add.
    }
  }
  return bytes;
}
