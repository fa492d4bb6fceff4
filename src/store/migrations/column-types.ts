import type { Kysely } from 'kysely';
import { dialectOf } from '../dialect.js';

/**
 * The column types that differ between the two databases. SQLite's are the ones its existing
 * files were created with, and stay so: a migration's SQLite DDL never changes. PostgreSQL gets
 * the types its values need: bytes as `bytea`, and integers that outgrow 32 bits (tree sizes,
 * node indexes, the audit sequence, epoch milliseconds) as `bigint` (SQLite's integer is 64-bit).
 */
export function columnTypes(db: Kysely<any>) {
  const postgres = dialectOf(db) === 'postgres';
  return {
    postgres,
    bytes: postgres ? 'bytea' : 'blob',
    bigInteger: postgres ? 'bigint' : 'integer',
  } as const;
}
