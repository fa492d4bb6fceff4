import BetterSqlite3 from 'better-sqlite3';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql } from 'kysely';
import pg from 'pg';
import { faultReporting } from './database-faults.js';
import { dialectOf } from './dialect.js';
import { MIGRATION_NAMES, migrationProvider } from './migrations/index.js';
import { withStatementCache } from './statement-cache.js';
import { WorkerSqliteDialect, type ReadGate } from './worker-sqlite-dialect.js';
import type { Database } from './schema.js';

export { dialectOf, type Dialect } from './dialect.js';

export type Db = Kysely<Database>;

/**
 * A `postgres://` (or `postgresql://`) URL opens PostgreSQL; anything else is a SQLite file path.
 * `readOnly`: for commands that only read (database-access.ts): nothing can be written through it.
 */
export function openDatabase(location: string, options: { readOnly?: boolean } = {}): Db {
  return isPostgresUrl(location) ? openPostgres(location, 10, options) : openSqlite(location, options);
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
export function openPostgres(url: string, poolSize = 10, { readOnly = false }: { readOnly?: boolean } = {}): Db {
  const types = {
    getTypeParser: (oid: number, format?: 'text' | 'binary') => {
      if (oid === pg.types.builtins.INT8 || oid === pg.types.builtins.NUMERIC) return (text: string) => Number(text);
      return pg.types.getTypeParser(oid, format);
    },
  };
  const pool = new pg.Pool({
    connectionString: url, max: poolSize, types: types as pg.CustomTypesConfig,
    // Every transaction of every connection read-only: the server itself refuses a write (25006).
    ...(readOnly ? { options: '-c default_transaction_read_only=on' } : {}),
  });
  // An idle connection the server ends (a restart, a terminated backend) is an 'error' on the pool,
  // which would crash the process unheard. The pool drops that connection and opens another when needed.
  pool.on('error', () => {});
  // The same for a connection checked out when the server ends it (57P01, a restart, a failover): its
  // query fails (503, database-faults.ts), its 'error' event must not, and the pool drops it when released.
  pool.on('connect', (client) => client.on('error', () => {}));
  return new Kysely<Database>({ dialect: faultReporting(new PostgresDialect({ pool })) });
}

/**
 * Opens the embedded SQLite database at `path` (`:memory:` for a throwaway one), creating its folder;
 * `readOnly`: an existing file only, never written (openSqliteToRead).
 */
export function openSqlite(path: string, { readOnly = false }: { readOnly?: boolean } = {}): Db {
  if (readOnly) return sqliteDb(openSqliteToRead(path));
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const sqlite = new BetterSqlite3(path);
  // WAL lets readers run beside the writer; NORMAL still survives a killed process, which is
  // what "committed before the response" has to withstand.
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  return sqliteDb(sqlite);
}

/**
 * An in-memory database from a serialized image (the bytes of a SQLite file): the tests start each of
 * their hundreds of databases from one image migrated once, instead of running every migration again.
 */
export function openSqliteImage(image: Buffer): Db {
  const sqlite = new BetterSqlite3(image);
  sqlite.pragma('foreign_keys = ON');
  return sqliteDb(sqlite);
}

function sqliteDb(sqlite: BetterSqlite3.Database): Db {
  const db = new Kysely<Database>({
    dialect: faultReporting(new SqliteDialect({ database: withStatementCache(sqlite) }), () => sqlite.inTransaction),
  });
  connections.set(db, sqlite);
  return db;
}

const connections = new WeakMap<Db, BetterSqlite3.Database>();

/**
 * The better-sqlite3 connection under `db` (opened here on a file or image), for reads whose rows
 * are too many for Kysely's cost per row (the audit log replay); undefined on PostgreSQL and on the
 * worker thread's connection (openReadDatabase), which have none in this thread.
 */
export function sqliteConnectionOf(db: Db): BetterSqlite3.Database | undefined {
  return connections.get(db);
}

/**
 * A SQLite file opened read-only, as it is. A WAL database needs its `-shm` index, which a read-only
 * connection can neither create nor lock on read-only media (an auditor's copy on a DVD or a
 * read-only mount), and this SQLite build takes no `immutable=1` URI. There, the file (and its `-wal`
 * file, which may hold the last commits) is copied to a temporary folder and the copy is read, said
 * on stderr, and removed when the process exits: what is read is exactly what the media holds.
 */
export function openSqliteToRead(path: string): BetterSqlite3.Database {
  if (!existsSync(path)) throw new Error(`no database at ${path}`);
  try {
    return readOnlySqlite(path);
  } catch (error) {
    const code = String((error as { code?: unknown }).code);
    if (code !== 'SQLITE_CANTOPEN' && !code.startsWith('SQLITE_READONLY')) throw error;
    return readOnlySqlite(copiedForReading(path));
  }
}

function readOnlySqlite(path: string): BetterSqlite3.Database {
  const sqlite = new BetterSqlite3(path, { readonly: true, fileMustExist: true });
  try {
    sqlite.pragma('busy_timeout = 5000');
    sqlite.prepare('select count(*) from sqlite_master').get(); // a WAL database fails here, not at open
    return sqlite;
  } catch (error) {
    sqlite.close();
    throw error;
  }
}

function copiedForReading(path: string): string {
  const folder = mkdtempSync(join(tmpdir(), 'datapact-read-'));
  process.once('exit', () => rmSync(folder, { recursive: true, force: true }));
  const copy = join(folder, basename(path));
  copyFileSync(path, copy);
  if (existsSync(`${path}-wal`)) copyFileSync(`${path}-wal`, `${copy}-wal`);
  const mib = (statSync(path).size / 1024 ** 2).toFixed(1);
  console.error(`${path} is on read-only storage, where SQLite cannot read a WAL database in place: reading a copy (${mib} MiB) in ${folder}, removed at exit.`);
  return copy;
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
  const readDb = new Kysely<Database>({ dialect: new WorkerSqliteDialect({ path: location, ...(gate ? { gate } : {}) }) });
  readLocations.set(readDb, location);
  return readDb;
}

/** The SQLite file of each worker thread's connection (openReadDatabase), for sqliteReaderOf. */
const readLocations = new WeakMap<Db, string>();
/** Read-only better-sqlite3 connections on this thread beside a worker thread's, opened by sqliteReaderOf. */
const readers = new WeakMap<Db, BetterSqlite3.Database>();

/**
 * A better-sqlite3 connection on this thread for reads whose rows are too many for Kysely's cost
 * per row, and which run a short statement at a time (the audit log replay, a batch per
 * statement): `db`'s own (sqliteConnectionOf), else, for a worker thread's connection, a
 * read-only one on the same file, opened once (closed by closeSqliteReader); undefined on
 * PostgreSQL. Each statement holds this thread while it runs: a caller reads in batches and lets
 * other work run between them.
 */
export function sqliteReaderOf(db: Db): BetterSqlite3.Database | undefined {
  const own = connections.get(db);
  if (own !== undefined) return own;
  const location = readLocations.get(db);
  if (location === undefined) return undefined;
  let reader = readers.get(db);
  if (reader === undefined) readers.set(db, reader = openSqliteToRead(location));
  return reader;
}

/** Closes the connection sqliteReaderOf opened beside `db`, if any. */
export function closeSqliteReader(db: Db): void {
  readers.get(db)?.close();
  readers.delete(db);
}

/**
 * Refuses a database the queries would answer differently on (see requireByteOrderCollation), another
 * program's database (tables, none of them Datapact's: nothing is added to it) and one from a newer
 * version of Datapact; then migrates it (an empty one gets the whole schema).
 */
export async function migrateToLatest(db: Db): Promise<void> {
  await requireByteOrderCollation(db);
  const schema = await schemaOf(db);
  if (schema.kind === 'foreign') throw new Error(notDatapact(schema.tables));
  if (schema.kind === 'datapact' && schema.unknown.length > 0) throw new Error(newerSchema(schema.unknown));
  const migrator = new Migrator({ db, provider: migrationProvider });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((result) => result.status === 'Error');
  if (error || failed) {
    throw new Error(`Migration ${failed?.migrationName ?? ''} failed: ${String(error)}`, { cause: error });
  }
}

/**
 * What `migrateToLatest` makes sure of, for a command that only reads: the collation, a Datapact
 * database, neither newer nor older than this version (each refused by name; nothing is changed).
 */
export async function requireCurrentSchema(db: Db): Promise<void> {
  await requireByteOrderCollation(db);
  const schema = await schemaOf(db);
  if (schema.kind === 'empty') throw new Error('it is not a Datapact database: it is empty (`datapact serve`, `seed` or `migrate` make one)');
  if (schema.kind === 'foreign') throw new Error(notDatapact(schema.tables));
  if (schema.unknown.length > 0) throw new Error(newerSchema(schema.unknown));
  if (schema.pending.length === 0) return;
  throw new Error(`the database's schema is older than this version of Datapact (missing migrations: ${schema.pending.join(', ')}); `
    + 'this command only reads and does not migrate: run `datapact migrate` on it (or start `datapact serve` on it once), or run this command on a migrated copy');
}

/** What a database holds: nothing, another program's tables, or Datapact's schema at some version. */
export type SchemaState =
  | { readonly kind: 'empty' }
  | { readonly kind: 'foreign'; readonly tables: readonly string[] }
  /** `unknown`: migrations it has had that this version does not know (it is newer); `pending`: ours it has not had. */
  | { readonly kind: 'datapact'; readonly unknown: readonly string[]; readonly pending: readonly string[] };

/** Reads only: the tables of the database (PostgreSQL: of its current schema) and the migrations it has had. */
export async function schemaOf(db: Db): Promise<SchemaState> {
  const tables = (await db.introspection.getTables({ withInternalKyselyTables: true })).map((table) => table.name);
  if (tables.length === 0) return { kind: 'empty' };
  const executed = tables.includes('kysely_migration')
    ? (await sql<{ name: string }>`select name from kysely_migration`.execute(db)).rows.map((row) => row.name)
    : [];
  if (!executed.includes(MIGRATION_NAMES[0]!)) return { kind: 'foreign', tables };
  return {
    kind: 'datapact',
    unknown: executed.filter((name) => !MIGRATION_NAMES.includes(name)),
    pending: MIGRATION_NAMES.filter((name) => !executed.includes(name)),
  };
}

function notDatapact(tables: readonly string[]): string {
  const named = tables.slice(0, 5).join(', ') + (tables.length > 5 ? `, … (${tables.length} tables)` : '');
  return `it is not a Datapact database: it has tables of another program (${named}) and none of Datapact's migrations; `
    + 'nothing was added to it. Point DATAPACT_DATABASE, DATAPACT_DATABASE_URL or --database at a Datapact database, or at a new file';
}

function newerSchema(unknown: readonly string[]): string {
  return `the database's schema is newer than this version of Datapact: it has migrations this version does not know (${unknown.join(', ')}); `
    + 'use the version of Datapact that migrated it, or a newer one';
}

/** Files up to this size get a whole `PRAGMA quick_check` at start: about 2 s at 150 MB/s from the page cache. */
export const INTEGRITY_CHECK_MAX_BYTES = 256 * 1024 ** 2;

/**
 * Refuses a SQLite file whose pages do not hold together (a disk or copy that damaged it), before the
 * server serves from it or migrates it: `PRAGMA quick_check` (every page and b-tree, without the slower
 * index-content comparison of integrity_check) when the file is at most INTEGRITY_CHECK_MAX_BYTES, so
 * that start stays within seconds; a larger file only has its schema read, and `note` says so.
 * PostgreSQL checks its own pages (data checksums): nothing is done there.
 */
export async function requireIntactDatabase(db: Db, location: string, note: (message: string) => void): Promise<void> {
  if (isPostgresUrl(location) || location === ':memory:') return;
  const bytes = statSync(location).size;
  try {
    if (bytes > INTEGRITY_CHECK_MAX_BYTES) {
      await sql`select count(*) from sqlite_master`.execute(db);
      note(`${location} is ${(bytes / 1024 ** 3).toFixed(1)} GiB: only its schema was checked at start; check it whole offline with sqlite3 ${location} 'pragma quick_check'.`);
      return;
    }
    const { rows } = await sql<{ quick_check: string }>`pragma quick_check(20)`.execute(db);
    const problems = rows.map((row) => row.quick_check).filter((line) => line !== 'ok');
    if (problems.length > 0) throw new Error(corrupted(location, problems.join('; ')));
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'SQLITE_CORRUPT' || code === 'SQLITE_NOTADB') throw new Error(corrupted(location, (error as Error).message), { cause: error });
    throw error;
  }
}

function corrupted(location: string, found: string): string {
  return `the database file ${location} is damaged (SQLite's quick_check: ${found}); refusing to serve from it. `
    + 'Restore it from a backup, or recover what it holds with sqlite3\'s .recover into a new file';
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
