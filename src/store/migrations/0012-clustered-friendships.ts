import { sql, type Kysely, type Migration } from 'kysely';
import { dialectOf } from '../dialect.js';

/**
 * SQLite only: `friendships` becomes a WITHOUT ROWID table, clustered on its primary key
 * (member_id, friend_id). A rowid table stored every row twice, once in the table and once in the
 * primary key's index; now the key is the table: about half the size (a million members with 150
 * friends each are 150 million rows), and a member's friend list, the Graph API's hottest read, is
 * one range scan of adjacent rows. Existing rows are carried over in key order.
 *
 * PostgreSQL has no such table kind (a heap with its primary key's index is what it has, and what
 * 0001 made): nothing to do there.
 */
export const clusteredFriendships: Migration = {
  async up(db: Kysely<any>) {
    if (dialectOf(db) === 'postgres') return;
    await rebuild(db, true);
  },
  async down(db: Kysely<any>) {
    if (dialectOf(db) === 'postgres') return;
    await rebuild(db, false);
  },
};

/** SQLite cannot change a table's kind in place: a new table, the rows copied, the old one dropped. */
async function rebuild(db: Kysely<any>, withoutRowid: boolean): Promise<void> {
  await db.transaction().execute(async (trx) => {
    let table = trx.schema
      .createTable('friendships_rebuilt')
      .addColumn('member_id', 'text', (c) => c.notNull().references('members.id'))
      .addColumn('friend_id', 'text', (c) => c.notNull().references('members.id'))
      .addColumn('since', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('friendships_pk', ['member_id', 'friend_id']);
    if (withoutRowid) table = table.modifyEnd(sql`without rowid`);
    await table.execute();
    await sql`insert into friendships_rebuilt (member_id, friend_id, since)
              select member_id, friend_id, since from friendships order by member_id, friend_id`.execute(trx);
    await trx.schema.dropTable('friendships').execute();
    await trx.schema.alterTable('friendships_rebuilt').renameTo('friendships').execute();
  });
}
