import { sql, type Kysely, type Migration } from 'kysely';
import { columnTypes } from './column-types.js';

/**
 * Each member's friends as one row of member numbers (issue 15): `friends` holds their numbers
 * sorted ascending, four bytes each, big-endian (so that the bytes sort as the numbers do, and
 * both databases can write them in SQL: SQLite with `unhex`, PostgreSQL with `int4send`). A replay
 * reads a token member's friends in one row and finds a subject among them by binary search in
 * memory, instead of probing a hundred-million-row index by text ids per subject; a whole-graph
 * read is one scan of a million rows. Kept whole with `friendships` by the code that writes
 * friendships (the repository and the world loaders); a member without friends has no row.
 *
 * The backfill joins every friendship to its two members' numbers: minutes at a million members
 * on SQLite, once.
 */
export const friendNumberLists: Migration = {
  async up(db: Kysely<any>) {
    const { bytes, postgres } = columnTypes(db);
    await db.schema
      .createTable('friend_number_lists')
      .addColumn('member_number', 'integer', (c) => c.primaryKey())
      .addColumn('friends', bytes, (c) => c.notNull())
      .execute();
    const packed = postgres ? sql`string_agg(int4send(fn.number), ''::bytea order by fn.number)`
      : sql`unhex(group_concat(printf('%08x', fn.number), '' order by fn.number))`;
    await sql`insert into friend_number_lists (member_number, friends)
      select mn.number, ${packed} from member_numbers mn
      join friendships f on f.member_id = mn.member_id
      join member_numbers fn on fn.member_id = f.friend_id
      group by mn.number`.execute(db);
  },
  async down(db: Kysely<any>) {
    await db.schema.dropTable('friend_number_lists').execute();
  },
};
