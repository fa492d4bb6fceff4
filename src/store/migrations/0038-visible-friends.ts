import { sql, type Kysely, type Migration } from 'kysely';
import { columnTypes } from './column-types.js';

/**
 * Friend lists readable by who may be seen (issue 11, point 0: no timing a partner can observe may
 * vary with the number of hidden friends). The friend list's scan read every friend in id order and
 * skipped the hidden ones, about 6 µs each, so a page took longer the more hidden friends it passed.
 * Now each side of a friendship reads only the friends the reading app could see:
 *
 * - `friendships.friend_shares`: 1 when the friend has the platform on and shares through friends'
 *   apps (what a device partner's app needs), kept with the friend's settings; an index on
 *   (member_id, friend_shares, friend_id) lets a device app's scan read those friends only.
 * - `app_friends`: (app, member, friend) for every friend who has the platform on and an unrevoked
 *   grant with a third-party app (what such an app needs: friends who use it), kept as grants,
 *   settings and friendships change.
 *
 * - `friendships.friend_ordinal`: the friend's place (from 1) in the member's list in id order, so
 *   that the friends a page passes over, which its request entry counts (PRODUCT.md §3), are a
 *   difference of two ordinals read by key rather than a count over the friends themselves.
 *
 * The first two only narrow what the scan reads; the rules still decide every friend it reads.
 */
export const visibleFriends: Migration = {
  async up(db: Kysely<any>) {
    const { postgres } = columnTypes(db);
    await db.schema.alterTable('friendships').addColumn('friend_shares', 'integer', (c) => c.notNull().defaultTo(0)).execute();
    await sql`update friendships set friend_shares = 1
              where friend_id in (select id from members where platform_enabled = 1 and share_via_friends = 1)`.execute(db);
    await db.schema.createIndex('friendships_shared').on('friendships').columns(['member_id', 'friend_shares', 'friend_id']).execute();
    await db.schema.alterTable('friendships').addColumn('friend_ordinal', 'integer', (c) => c.notNull().defaultTo(0)).execute();
    await sql`update friendships set friend_ordinal = r.n
              from (select member_id, friend_id, row_number() over (partition by member_id order by friend_id) as n from friendships) as r
              where friendships.member_id = r.member_id and friendships.friend_id = r.friend_id`.execute(db);

    let table = db.schema
      .createTable('app_friends')
      .addColumn('app_id', 'text', (c) => c.notNull())
      .addColumn('member_id', 'text', (c) => c.notNull())
      .addColumn('friend_id', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('app_friends_pk', ['app_id', 'member_id', 'friend_id']);
    if (!postgres) table = table.modifyEnd(sql`without rowid`);
    await table.execute();
    await db.schema.createIndex('app_friends_friend').on('app_friends').columns(['friend_id', 'app_id']).execute();
    await sql`insert into app_friends (app_id, member_id, friend_id)
              select distinct g.app_id, f.friend_id, g.member_id
              from grants g
              join apps a on a.id = g.app_id and a.class = 'third_party'
              join members m on m.id = g.member_id and m.platform_enabled = 1
              join friendships f on f.member_id = g.member_id
              where g.revoked_at is null`.execute(db);
  },
  async down(db: Kysely<any>) {
    await db.schema.dropTable('app_friends').execute();
    await db.schema.dropIndex('friendships_shared').execute();
    await db.schema.alterTable('friendships').dropColumn('friend_shares').execute();
    await db.schema.alterTable('friendships').dropColumn('friend_ordinal').execute();
  },
};
