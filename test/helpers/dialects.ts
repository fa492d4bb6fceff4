/**
 * The databases the store, audit and API suites run on, as kysely's own tests loop over theirs:
 * `for (const dialect of DIALECTS) describe(`… on ${dialect}`, …)`. SQLite always; PostgreSQL when
 * DATAPACT_TEST_DATABASE_URL names a server (`npm test` starts a throwaway one through
 * scripts/with-postgres.mjs when PostgreSQL is installed).
 *
 * Every test gets a fresh migrated database: SQLite in memory; on PostgreSQL a copy of a template
 * migrated once per server (CREATE DATABASE … TEMPLATE copies it, much faster than migrating),
 * dropped when the test is done.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test as nodeTest, type TestContext, type TestOptions } from 'node:test';
import { sql } from 'kysely';
import pg from 'pg';
import { migrateToLatest, openPostgres, openReadDatabase, openSqlite, openSqliteImage, type Db, type Dialect } from '../../src/store/database.js';
import type { ReadGate } from '../../src/store/worker-sqlite-dialect.js';
import { PROJECT_ROOT } from '../../src/project-root.js';

export type { Dialect } from '../../src/store/database.js';

/** The PostgreSQL server of the tests, or undefined: the PostgreSQL half is then skipped. */
export const POSTGRES_SERVER_URL: string | undefined = process.env.DATAPACT_TEST_DATABASE_URL || undefined;

export const DIALECTS: readonly Dialect[] = POSTGRES_SERVER_URL === undefined ? ['sqlite'] : ['sqlite', 'postgres'];

/**
 * Cases the request schemas refuse before any query runs: the same on every database, so they run on
 * the first dialect only, and the PostgreSQL half spends its time on what reaches the database.
 */
export function onOneDialect<T>(dialect: Dialect, cases: readonly T[]): readonly T[] {
  return dialect === DIALECTS[0] ? cases : [];
}

/**
 * What makes a test of an API, CLI, OAuth or report suite worth its PostgreSQL half: SQL that differs by
 * dialect, or whose behaviour matters on PostgreSQL. The repositories themselves are tested on both in
 * test/store/.
 */
export type PostgresReason =
  | 'transactions and locking'
  | 'the audit append'
  | 'JSON and blob columns'
  | 'date math'
  | 'upserts'
  | "the reports' SQL"
  | 'pagination and ordering'
  | 'migrations';

type TestBody = (t: TestContext) => void | Promise<void>;

export interface DialectTest {
  /** A test on SQLite only: routes, rules, auth, shapes, pages, on top of repositories test/store runs on both. */
  (name: string, fn: TestBody): void;
  (name: string, options: TestOptions, fn: TestBody): void;
  /** A test on every dialect of DIALECTS, saying why its PostgreSQL half is worth running. */
  both(why: PostgresReason, name: string, fn: TestBody): void;
  both(why: PostgresReason, name: string, options: TestOptions, fn: TestBody): void;
}

/**
 * The `test` of a suite looping over DIALECTS (`const test = dialectTest(dialect)` inside the loop):
 * every test runs on SQLite; on PostgreSQL only those registered with `test.both(why, …)`. A PostgreSQL
 * half that repeats SQLite's through the same portable queries costs more than SQLite's (a database per test) and proves
 * nothing more, and the whole suite has a time budget.
 */
export function dialectTest(dialect: Dialect): DialectTest {
  const register = (args: [string, TestBody] | [string, TestOptions, TestBody]): void => {
    if (args.length === 2) nodeTest(args[0], args[1]);
    else nodeTest(args[0], args[1], args[2]);
  };
  const sqliteOnly = (...args: [string, TestBody] | [string, TestOptions, TestBody]): void => {
    if (dialect === 'sqlite') register(args);
  };
  const both = (_why: PostgresReason, ...args: [string, TestBody] | [string, TestOptions, TestBody]): void => register(args);
  return Object.assign(sqliteOnly, { both }) as DialectTest;
}

export interface FreshDatabase {
  readonly db: Db;
  /** PostgreSQL only: the database's URL, for a second pool on it (as a second server instance would open). */
  readonly url: string | undefined;
  /** The store's `readDb` when it is not `db` (sqliteFileDatabase). */
  readonly readDb?: Db;
  /** Closes the database and, on PostgreSQL, drops it. */
  drop(): Promise<void>;
}

let sqliteImage: Promise<Buffer> | undefined;

/** A migrated SQLite database's bytes, made once per test process (`VACUUM INTO` a file, read back). */
function migratedSqliteImage(): Promise<Buffer> {
  sqliteImage ??= (async () => {
    const db = openSqlite(':memory:');
    await migrateToLatest(db);
    const folder = mkdtempSync(join(tmpdir(), 'datapact-image-'));
    try {
      await sql`vacuum into ${join(folder, 'image.db')}`.execute(db);
      return readFileSync(join(folder, 'image.db'));
    } finally {
      await db.destroy();
      rmSync(folder, { recursive: true, force: true });
    }
  })();
  return sqliteImage;
}

/** A fresh migrated database; the caller drops it (after whatever still uses it has closed). */
export async function freshDatabase(dialect: Dialect): Promise<FreshDatabase> {
  if (dialect === 'sqlite') {
    const db = openSqliteImage(await migratedSqliteImage());
    return { db, url: undefined, drop: () => db.destroy() };
  }
  return freshPostgres(`datapact_t_${randomBytes(6).toString('hex')}`, `"${await templateDatabase()}"`);
}

/**
 * A fresh migrated SQLite file in a temporary folder, read as the server reads one: `readDb` is a
 * worker thread's read-only connection (database.ts, openReadDatabase); `gate` lets a test hold it.
 */
export async function sqliteFileDatabase(gate?: ReadGate): Promise<FreshDatabase & { readonly readDb: Db; readonly path: string }> {
  const folder = mkdtempSync(join(tmpdir(), 'datapact-test-'));
  const path = join(folder, 'datapact.db');
  const db = openSqlite(path);
  await migrateToLatest(db);
  const readDb = openReadDatabase(path, db, gate);
  return {
    db,
    readDb,
    path,
    url: undefined,
    async drop() {
      await readDb.destroy();
      await db.destroy();
      rmSync(folder, { recursive: true, force: true });
    },
  };
}

/** A fresh migrated database, dropped when the test ends. */
export async function testDatabase(t: TestContext, dialect: Dialect): Promise<FreshDatabase> {
  const fresh = await freshDatabase(dialect);
  t.after(() => fresh.drop());
  return fresh;
}

/** An empty, unmigrated PostgreSQL database, dropped when the test ends (for migration tests). */
export async function emptyPostgresDatabase(t: TestContext): Promise<FreshDatabase> {
  const fresh = await freshPostgres(`datapact_e_${randomBytes(6).toString('hex')}`, `template0 ${C_LOCALE}`);
  t.after(() => fresh.drop());
  return fresh;
}

/** The URL of database `name` on the test server. */
export function postgresUrl(name: string): string {
  const url = new URL(serverUrl());
  url.pathname = `/${name}`;
  return url.toString();
}

/** A connection to the server's own database, for CREATE and DROP DATABASE; it lets the process exit when idle. */
export function adminPool(): pg.Pool {
  admin ??= new pg.Pool({ connectionString: serverUrl(), max: 2, allowExitOnIdle: true });
  return admin;
}

/** What Datapact requires of a PostgreSQL database (whatever the test server's own default): copies of the template inherit it. */
const C_LOCALE = `encoding 'UTF8' locale 'C'`;

let admin: pg.Pool | undefined;
let template: Promise<string> | undefined;

function serverUrl(): string {
  if (POSTGRES_SERVER_URL === undefined) throw new Error('DATAPACT_TEST_DATABASE_URL is not set: no PostgreSQL server for the tests');
  return POSTGRES_SERVER_URL;
}

/** `from`: the template, and any options after it. */
async function freshPostgres(name: string, from: string): Promise<FreshDatabase> {
  await adminPool().query(`create database "${name}" template ${from}`);
  const db = openPostgres(postgresUrl(name), 4);
  return {
    db,
    url: postgresUrl(name),
    async drop() {
      await db.destroy();
      await adminPool().query(`drop database if exists "${name}" with (force)`);
    },
  };
}

/**
 * The migrated template, named after the migrations' sources so that a changed migration gets a
 * new one. Test files run in parallel processes: the first to get the lock builds it (under another
 * name, renamed when whole), the others wait for it and find it made.
 */
function templateDatabase(): Promise<string> {
  template ??= (async () => {
    const name = `datapact_template_${migrationsDigest()}`;
    const client = await adminPool().connect();
    try {
      await client.query('select pg_advisory_lock($1)', [TEMPLATE_LOCK]);
      const found = await client.query('select 1 from pg_database where datname = $1', [name]);
      if (found.rowCount === 0) await buildTemplate(client, name);
      return name;
    } finally {
      await client.query('select pg_advisory_unlock($1)', [TEMPLATE_LOCK]);
      client.release();
    }
  })();
  return template;
}

async function buildTemplate(client: pg.PoolClient, name: string): Promise<void> {
  const building = `${name}_${process.pid}`;
  await client.query(`drop database if exists "${building}"`);
  await client.query(`create database "${building}" template template0 ${C_LOCALE}`);
  const db = openPostgres(postgresUrl(building), 1);
  try {
    await migrateToLatest(db);
  } finally {
    await db.destroy();
  }
  await renameWhenFree(client, building, name);
}

/** The server lets a closed pool's connections go a moment after the client: retry while they linger (55006, object in use). */
async function renameWhenFree(client: pg.PoolClient, from: string, to: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await client.query(`alter database "${from}" rename to "${to}"`);
      return;
    } catch (error) {
      if ((error as { code?: string }).code !== '55006' || attempt === 100) throw error;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

/** An arbitrary advisory lock key for building the template ("dptmpl"). */
const TEMPLATE_LOCK = 0x64_70_74_6d_70_6c;

function migrationsDigest(): string {
  const folder = join(PROJECT_ROOT, 'src', 'store', 'migrations');
  const hash = createHash('sha256');
  for (const file of readdirSync(folder).sort()) hash.update(file).update(readFileSync(join(folder, file)));
  return hash.digest('hex').slice(0, 16);
}
