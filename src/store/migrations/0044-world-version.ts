import { sql, type Kysely, type Migration } from 'kysely';
import { dialectOf } from '../dialect.js';

/** What a replay reads of today's world by member number (ReplayNumbers), friendships through their members' lists. */
const WORLD_TABLES = ['members', 'member_numbers', 'field_audiences', 'member_friend_exclusions', 'friend_number_lists', 'ended_friendships'];
/** What a replay reads of a grant (its consent table): not when it was last used, which every request changes. */
const GRANT_COLUMNS = ['member_id', 'app_id', 'agreement_id', 'purpose', 'member_fields', 'friend_fields', 'granted_at', 'revoked_at'];

/**
 * `world_version`: one number that every change to what a replay reads of today's world moves on
 * (SQLite triggers: a member's settings, audiences, exclusions, numbers, friend lists, ended
 * friendships, grants' consents), so that a world read for one simulation serves the next while it
 * is unchanged. A server writes the log, and grants' last use, with every request: the whole
 * database's version (data_version) moved each time, and each simulation read the world again (a
 * few seconds at a million members). `friendships` itself has no trigger: it is written with its
 * members' lists (migration 0040), one per row of a hundred million would slow a seeding. The
 * table exists on PostgreSQL too, unused there (its replays read no world by number).
 */
export const worldVersion: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.createTable('world_version').addColumn('id', 'integer', (c) => c.primaryKey())
      .addColumn('version', 'integer', (c) => c.notNull()).execute();
    await db.insertInto('world_version').values({ id: 1, version: 0 }).execute();
    if (dialectOf(db) === 'postgres') return;
    const bump = 'begin update world_version set version = version + 1; end';
    for (const table of WORLD_TABLES) {
      for (const event of ['insert', 'update', 'delete']) {
        await sql.raw(`create trigger world_version_${table}_${event} after ${event} on ${table} for each row ${bump}`).execute(db);
      }
    }
    await sql.raw(`create trigger world_version_grants_insert after insert on grants for each row ${bump}`).execute(db);
    await sql.raw(`create trigger world_version_grants_delete after delete on grants for each row ${bump}`).execute(db);
    await sql.raw(`create trigger world_version_grants_update after update of ${GRANT_COLUMNS.join(', ')} on grants for each row ${bump}`).execute(db);
  },
  async down(db: Kysely<any>) {
    if (dialectOf(db) !== 'postgres') {
      for (const table of [...WORLD_TABLES, 'grants']) {
        for (const event of ['insert', 'update', 'delete']) await sql.raw(`drop trigger if exists world_version_${table}_${event}`).execute(db);
      }
    }
    await db.schema.dropTable('world_version').execute();
  },
};
