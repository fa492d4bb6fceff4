import { migrateToLatest, openDatabase } from '../store/database.js';
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

/** The help of every command's `--database` option. */
export const DATABASE_OPTION =
  'a SQLite database file or a postgres:// URL (default: DATAPACT_DATABASE_URL, else DATAPACT_DATABASE, else ./data/datapact.db)';
