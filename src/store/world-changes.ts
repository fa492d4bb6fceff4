import { sql } from 'kysely';
import type { Db } from './database.js';

/** Versions of the world whose changes are kept (world_changes): a world kept from longer ago is read again whole. */
export const WORLD_CHANGES_KEPT = 100_000;

/**
 * Forgets which members the world's older changes were about (migration 0045), keeping the last
 * `kept` versions': the journal stays short, and a replay whose world is older than that reads
 * today's whole (ReplayNumbers), as it did before the journal. How many rows went.
 */
export async function pruneWorldChanges(db: Db, kept = WORLD_CHANGES_KEPT): Promise<number> {
  const result = await db.deleteFrom('world_changes')
    .where('version', '<=', sql<number>`(select version from world_version where id = 1) - ${kept}`).executeTakeFirst();
  return Number(result.numDeletedRows);
}
