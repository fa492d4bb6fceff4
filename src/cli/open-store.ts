import { migrateToLatest, openDatabase, pendingMigrations, requireByteOrderCollation } from '../store/database.js';
import { createStore, type Store } from '../store/store.js';

/**
 * Opens and migrates the database a command works on: a `postgres://` URL or a SQLite file path
 * (`loadConfig().database` unless the command was given one). A database that cannot be used
 * (unreachable, or a PostgreSQL collation other than C) is closed again, so the command can exit.
 */
export async function openStore(location: string): Promise<Store> {
  const db = openDatabase(location);
  try {
    await migrateToLatest(db);
  } catch (error) {
    await db.destroy();
    throw error;
  }
  return createStore(db);
}

/**
 * Opens the database for a command that only reads it (`audit verify`, `audit export`): nothing is
 * migrated, so a copy handed to an auditor stays as it was; a database whose schema is behind this
 * version is refused, naming the migrations it lacks.
 */
export async function openStoreToRead(location: string): Promise<Store> {
  const db = openDatabase(location);
  try {
    await requireByteOrderCollation(db);
    const pending = await pendingMigrations(db);
    if (pending.length > 0) {
      throw new Error(`the database's schema is older than this version of Datapact (missing migrations: ${pending.join(', ')}); `
        + 'this command only reads and does not migrate: start `datapact serve` on it once, or run this command on a migrated copy');
    }
  } catch (error) {
    await db.destroy();
    throw error;
  }
  return createStore(db);
}

/** The help of every command's `--database` option. */
export const DATABASE_OPTION =
  'a SQLite database file or a postgres:// URL (default: DATAPACT_DATABASE_URL, else DATAPACT_DATABASE, else ./data/datapact.db)';
