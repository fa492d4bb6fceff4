import { isPostgresUrl } from './database.js';
import { PostgresCopyLoader } from './postgres-world-loader.js';
import { SqliteWorldLoader } from './sqlite-world-loader.js';
import type { WorldLoader } from './world-loader.js';

/**
 * The bulk loader for a database location (as `openDatabase` takes it): COPY for a PostgreSQL URL,
 * a loading connection of its own for a SQLite file. Both want the database to themselves: close
 * the store's connections first (SQLite cannot leave WAL mode while another connection is open).
 */
export async function openWorldLoader(location: string): Promise<WorldLoader> {
  return isPostgresUrl(location) ? PostgresCopyLoader.open(location) : SqliteWorldLoader.open(location);
}
