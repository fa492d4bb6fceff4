import { migrateToLatest, openSqlite } from '../store/database.js';
import { createStore, type Store } from '../store/store.js';

/** Opens and migrates the database a command works on. */
export async function openStore(databasePath: string): Promise<Store> {
  const db = openSqlite(databasePath);
  await migrateToLatest(db);
  return createStore(db);
}
