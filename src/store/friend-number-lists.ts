import type BetterSqlite3 from 'better-sqlite3';
import { sql, type RawBuilder } from 'kysely';
import { chunks } from './batches.js';
import type { Db } from './database.js';
import { dialectOf } from './dialect.js';
import { friendGraphFromFriendships } from './friend-graph.js';

/**
 * Each member's friends as one row of member numbers (`friend_number_lists`, migration 0040): what a
 * replay of the log reads instead of probing `friendships` by text ids per subject. The table
 * holds, for every member with friends, their numbers sorted ascending, four bytes each,
 * big-endian; it is kept whole by whatever writes `friendships` (FriendshipRepository, the world
 * loaders), which calls one of these after its rows.
 */

/** A list's bytes from numbers sorted ascending. */
function bytesOf(sorted: Uint32Array): Buffer {
  const bytes = Buffer.allocUnsafe(sorted.length * 4);
  for (let i = 0; i < sorted.length; i++) bytes.writeUInt32BE(sorted[i]!, i * 4);
  return bytes;
}

/** The lists of the members that `members` (a condition on member_numbers as `mn`) selects, as the friendships stand, in each dialect's SQL. */
function listsQuery(postgres: boolean, members: RawBuilder<unknown>): RawBuilder<unknown> {
  const packed = sql.raw(postgres ? `string_agg(int4send(fn.number), ''::bytea order by fn.number)`
    : `unhex(group_concat(printf('%08x', fn.number), '' order by fn.number))`);
  return sql`insert into friend_number_lists (member_number, friends)
    select mn.number, ${packed} from member_numbers mn
    join friendships f on f.member_id = mn.member_id
    join member_numbers fn on fn.member_id = f.friend_id
    where ${members}
    group by mn.number`;
}

/** Members refreshed per statement (their ids are bound parameters). */
const REFRESH_CHUNK = 500;

/**
 * The lists of these members made again from `friendships` (after their friendships changed), in
 * the caller's transaction if it is in one, else in one of its own, so that no reader sees the
 * friendships without their lists.
 */
export async function refreshFriendNumberLists(db: Db, memberIds: readonly string[]): Promise<void> {
  if (memberIds.length === 0) return;
  const postgres = dialectOf(db) === 'postgres';
  const work = async (trx: Db) => {
    for (const ids of chunks([...new Set(memberIds)], REFRESH_CHUNK)) {
      const list = sql.join(ids.map((id) => sql`${id}`));
      await sql`delete from friend_number_lists where member_number in (select number from member_numbers where member_id in (${list}))`.execute(trx);
      await listsQuery(postgres, sql`mn.member_id in (${list})`).execute(trx);
    }
  };
  if (db.isTransaction) await work(db); else await db.transaction().execute(work);
}

/** Every list made again from `friendships`, in SQL (a world loaded through Kysely or by COPY: PostgreSQL joins by hash). */
export async function rebuildFriendNumberLists(db: Db): Promise<void> {
  const postgres = dialectOf(db) === 'postgres';
  const work = async (trx: Db) => {
    await sql`delete from friend_number_lists`.execute(trx);
    await listsQuery(postgres, sql`true`).execute(trx);
  };
  if (db.isTransaction) await work(db); else await db.transaction().execute(work);
}

/** The same on PostgreSQL as statement text, for a connection of its own (the COPY loader's). */
export const REBUILD_FRIEND_NUMBER_LISTS_POSTGRES = `delete from friend_number_lists;
  insert into friend_number_lists (member_number, friends)
  select mn.number, string_agg(int4send(fn.number), ''::bytea order by fn.number) from member_numbers mn
  join friendships f on f.member_id = mn.member_id
  join member_numbers fn on fn.member_id = f.friend_id
  group by mn.number`;

/**
 * Every list made again on a SQLite connection of a bulk load (a million members): SQL would join
 * each of a hundred million friendships to its friend's number by a probe of an index on text ids
 * (minutes); the friend graph read by ids in one pass (friendGraphFromFriendships) costs far less,
 * and its lists are already sorted. In the caller's transaction if any, else in one.
 */
export function writeFriendNumberLists(sqlite: BetterSqlite3.Database): void {
  sqlite.transaction(() => {
    const graph = friendGraphFromFriendships(sqlite);
    sqlite.prepare('delete from friend_number_lists').run();
    const insert = sqlite.prepare('insert into friend_number_lists (member_number, friends) values (?, ?)');
    for (let n = 0; n <= graph.maxNumber; n++) {
      const friends = graph.friendsOf(n);
      if (friends.length > 0) insert.run(n, bytesOf(friends));
    }
  })();
}
