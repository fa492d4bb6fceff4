import BetterSqlite3 from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql } from 'kysely';
import pg from 'pg';
import { dialectOf } from './dialect.js';
import { migrationProvider } from './migrations/index.js';
import { withStatementCache } from './statement-cache.js';
import { WorkerSqliteDialect, type ReadGate } from './worker-sqlite-dialect.js';
import type { Database } from './schema.js';

export { dialectOf, type Dialect } from './dialect.js';

export type Db = Kysely<Database>;

/** A `postgres://` (or `postgresql://`) URL opens PostgreSQL; anything else is a SQLite file path. */
export function openDatabase(location: string): Db {
  return isPostgresUrl(location) ? openPostgres(location) : openSqlite(location);
}

export function isPostgresUrl(location: string): boolean {
  return /^postgres(ql)?:\/\//.test(location);
}

/** A database location fit to print: a PostgreSQL URL without its password. */
export function describeLocation(location: string): string {
  if (!isPostgresUrl(location)) return location;
  try {
    const url = new URL(location);
    if (url.password !== '') url.password = '***';
    return url.toString();
  } catch {
    return 'a PostgreSQL URL that does not parse';
  }
}

/**
 * PostgreSQL through a pg Pool. Counts, sums and bigint columns come back as JavaScript numbers,
 * as they do from SQLite: every such value here is below 2^53 (sizes, counts, epoch milliseconds).
 */
export function openPostgres(url: string, poolSize = 10): Db {
  const types = {
    getTypeParser: (oid: number, format?: 'text' | 'binary') => {
      if (oid === pg.types.builtins.INT8 || oid === pg.types.builtins.NUMERIC) return (text: string) => Number(text);
      return pg.types.getTypeParser(oid, format);
    },
  };
  const pool = new pg.Pool({ connectionString: url, max: poolSize, types: types as pg.CustomTypesConfig });
  // An idle connection the server ends (a restart, a terminated backend) is an 'error' on the pool,
  // which would crash the process unheard. The pool drops that connection and opens another when needed.
  pool.on('error', () => {});
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
}

/** Opens the embedded SQLite database at `path` (`:memory:` for a throwaway one), creating its folder. */
export function openSqlite(path: string): Db {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const sqlite = new BetterSqlite3(path);
  // WAL lets readers run beside the writer; NORMAL still survives a killed process, which is
  // what "committed before the response" has to withstand.
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  return new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) });
}

/**
 * The connection for reads that may take long (staff reports and audit queries over the whole log),
 * beside `db`, the one that `location` was opened with:
 * - a SQLite file: a worker thread's read-only connection (WorkerSqliteDialect), so that a long
 *   query does not hold the server's event loop, as better-sqlite3 on `db` would;
 * - PostgreSQL: `db` itself, whose pool already waits for the server without holding the thread;
 * - `:memory:` (tests): `db` itself, as another connection would open another, empty, database.
 * `gate` is for tests only (ReadGate).
 */
export function openReadDatabase(location: string, db: Db, gate?: ReadGate): Db {
  if (isPostgresUrl(location) || location === ':memory:') return db;
  return new Kysely<Database>({ dialect: new WorkerSqliteDialect({ path: location, ...(gate ? { gate } : {}) }) });
}

/** Refuses a database the queries would answer differently on (see requireByteOrderCollation), then migrates it. */
export async function migrateToLatest(db: Db): Promise<void> {
  await requireByteOrderCollation(db);
  const migrator = new Migrator({ db, provider: migrationProvider });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((result) => result.status === 'Error');
  if (error || failed) {
    throw new Error(`Migration ${failed?.migrationName ?? ''} failed: ${String(error)}`);
  }
}

/**
 * What `migrateToLatest` makes sure of, for a command that only reads: the collation, and no migration
 * this version of Datapact has that the database has not had yet (refused by name; nothing is changed).
 */
export async function requireCurrentSchema(db: Db): Promise<void> {
  await requireByteOrderCollation(db);
  const migrations = await new Migrator({ db, provider: migrationProvider }).getMigrations();
  const pending = migrations.filter((migration) => migration.executedAt === undefined).map((migration) => migration.name);
  if (pending.length === 0) return;
  throw new Error(`the database's schema is older than this version of Datapact (missing migrations: ${pending.join(', ')}); `
    + 'this command only reads and does not migrate: start `datapact serve` on it once, or run this command on a migrated copy');
}

/**
 * PostgreSQL must compare text as bytes, as SQLite does: keyset cursors over ids (friend lists,
 * notices), instants compared as ISO-8601 text and every ordered list rely on it. A database
 * whose default collation is a language's (en_US.UTF-8, an ICU locale) would page and sort
 * differently, so it is refused at start rather than trusted.
 */
export async function requireByteOrderCollation(db: Db): Promise<void> {
  if (dialectOf(db) !== 'postgres') return;
  // pg_database rather than `SHOW lc_collate`, which PostgreSQL 16 removed; to_jsonb whatever columns this version has.
  const { rows } = await sql<{ d: PgDatabaseRow }>`select to_jsonb(d) as d from pg_database d where datname = current_database()`.execute(db);
  const row = rows[0]?.d;
  if (row === undefined || bytewise(row)) return;
  const collation = row.datlocprovider === 'i' ? `ICU ${row.daticulocale ?? row.datlocale ?? ''}`.trim() : row.datlocale ?? row.datcollate;
  throw new Error(
    `The PostgreSQL database "${row.datname}" sorts text by the collation "${collation}"; Datapact needs "C" (text compared ` +
    'as bytes, as SQLite does: its paging cursors and time comparisons depend on it). Create the database with ' +
    `\`CREATE DATABASE ${row.datname} TEMPLATE template0 ENCODING 'UTF8' LOCALE 'C'\` (or initdb --no-locale).`,
  );
}

interface PgDatabaseRow {
  readonly datname: string;
  readonly datcollate: string;
  /** PostgreSQL 15+: `c` libc, `i` ICU, `b` builtin (17+). */
  readonly datlocprovider?: string;
  readonly daticulocale?: string | null;
  readonly datlocale?: string | null;
}

function bytewise(row: PgDatabaseRow): boolean {
  const provider = row.datlocprovider ?? 'c';
  if (provider === 'c') return row.datcollate === 'C' || row.datcollate === 'POSIX';
  // The builtin provider's C and C.UTF-8 both order by code point, which is UTF-8's byte order.
  return provider === 'b' && (row.datlocale === 'C' || row.datlocale === 'C.UTF-8');
}
