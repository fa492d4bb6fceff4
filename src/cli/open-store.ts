import { migrateToLatest, openDatabase, openReadDatabase, requireCurrentSchema, type Db } from '../store/database.js';
import { createStore, type Store } from '../store/store.js';

/**
 * Opens and migrates the database a command works on: a `postgres://` URL or a SQLite file path
 * (`loadConfig().database` unless the command was given one). A database that cannot be used
 * (unreachable, or a PostgreSQL collation other than C) is closed again, so the command can exit.
 */
export function openStore(location: string): Promise<Store> {
  return opened(location, migrateToLatest);
}

/**
 * Opens the database for a command that only reads it (`audit verify`, `audit export`): nothing is
 * migrated, so a copy handed to an auditor stays as it was; a database whose schema is behind this
 * version is refused, naming the migrations it lacks.
 */
export function openStoreToRead(location: string): Promise<Store> {
  return opened(location, requireCurrentSchema);
}

async function opened(location: string, prepare: (db: Db) => Promise<void>): Promise<Store> {
  const db = openDatabase(location);
  try {
    await prepare(db);
  } catch (error) {
    await db.destroy();
    throw error;
  }
  return createStore(db, openReadDatabase(location, db));
}

/** The help of every command's `--database` option. */
export const DATABASE_OPTION =
  'a SQLite database file or a postgres:// URL (default: DATAPACT_DATABASE_URL, else DATAPACT_DATABASE, else ./data/datapact.db)';
