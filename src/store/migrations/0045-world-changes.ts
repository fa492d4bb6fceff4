import { sql, type Kysely, type Migration } from 'kysely';
import { dialectOf } from '../dialect.js';

/** Each table 0044 watches, and how its row names the member whose facts it changes (SQL over `new` or `old`). */
const MEMBER_OF: ReadonlyArray<readonly [table: string, member: (row: string) => string]> = [
  ['members', (row) => `(select number from member_numbers where member_id = ${row}.id)`],
  ['member_numbers', (row) => `${row}.number`],
  ['field_audiences', (row) => `(select number from member_numbers where member_id = ${row}.member_id)`],
  ['member_friend_exclusions', (row) => `(select number from member_numbers where member_id = ${row}.member_id)`],
  ['friend_number_lists', (row) => `${row}.member_number`],
  ['grants', (row) => `(select number from member_numbers where member_id = ${row}.member_id)`],
];
const WATCHED = [...MEMBER_OF.map(([table]) => table), 'ended_friendships'];
/** What a replay reads of a grant (0044): not when it was last used, which every request changes. */
const GRANT_COLUMNS = ['member_id', 'app_id', 'agreement_id', 'purpose', 'member_fields', 'friend_fields', 'granted_at', 'revoked_at'];

/** The statements a trigger runs: world_version moved on, then each member named journalled under the new version. */
function body(members: readonly string[]): string {
  const journal = members.map((member) => `insert into world_changes (version, member_number)
    select version, ${member} from world_version where id = 1;`);
  return `begin update world_version set version = version + 1; ${journal.join(' ')} end`;
}

function membersOf(table: string, event: string): string[] {
  const rows = event === 'insert' ? ['new'] : event === 'delete' ? ['old'] : ['old', 'new'];
  if (table === 'ended_friendships') return rows.flatMap((row) => [`${row}.member_number`, `${row}.friend_number`]);
  const member = MEMBER_OF.find(([name]) => name === table)![1];
  return rows.map(member);
}

/**
 * `world_changes`: which members each move of world_version (0044) was about, journalled by the
 * same triggers, so that a world a replay read serves the next one after a few members changed: it
 * reads again only what they changed (their facts, friend lists, grants) instead of a million
 * members (ReplayNumbers.refreshed). A change no member number names journals null: a member not
 * numbered yet is no member to a world by number, and their numbering is journalled with it. SQLite
 * only, as world_version's triggers; the scheduler keeps the journal short (pruneWorldChanges).
 */
export const worldChanges: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.createTable('world_changes').addColumn('version', 'integer', (c) => c.notNull())
      .addColumn('member_number', 'integer').execute();
    await db.schema.createIndex('world_changes_version').on('world_changes').column('version').execute();
    if (dialectOf(db) === 'postgres') return;
    for (const table of WATCHED) {
      for (const event of ['insert', 'update', 'delete']) {
        const of = table === 'grants' && event === 'update' ? ` of ${GRANT_COLUMNS.join(', ')}` : '';
        await sql.raw(`drop trigger if exists world_version_${table}_${event}`).execute(db);
        await sql.raw(`create trigger world_version_${table}_${event} after ${event}${of} on ${table} for each row ${body(membersOf(table, event))}`).execute(db);
      }
    }
  },
  async down(db: Kysely<any>) {
    if (dialectOf(db) !== 'postgres') {
      const bump = 'begin update world_version set version = version + 1; end';
      for (const table of WATCHED) {
        for (const event of ['insert', 'update', 'delete']) {
          const of = table === 'grants' && event === 'update' ? ` of ${GRANT_COLUMNS.join(', ')}` : '';
          await sql.raw(`drop trigger if exists world_version_${table}_${event}`).execute(db);
          // 0044 had no update trigger on grants' other columns and none on grants' updates but these.
          await sql.raw(`create trigger world_version_${table}_${event} after ${event}${of} on ${table} for each row ${bump}`).execute(db);
        }
      }
    }
    await db.schema.dropTable('world_changes').execute();
  },
};
