import { sql } from 'kysely';
import type { Db } from './database.js';

/**
 * Keeps what a friend list's scan reads (migration 0038) in step with what decides visibility, so
 * that the scan reads only friends the reading app could see and takes no longer for a member with
 * many hidden friends (issue 11, point 0). Each call recomputes, from the members' settings, grants
 * and friendships as they stand, every row that names `memberIds` as the friend: callers pass the
 * members whose settings, grants or friendships they changed, in the same transaction when they
 * have one. Recomputing rather than patching keeps one definition of "visible" per app class.
 */
export async function refreshVisibleFriends(db: Db, memberIds: readonly string[]): Promise<void> {
  for (const id of new Set(memberIds)) {
    await refreshSharing(db, id);
    await refreshAppFriends(db, id);
  }
}

/** After friendships of `memberIds` were added: each friend's place in the member's list in id order. */
export async function renumberFriends(db: Db, memberIds: readonly string[]): Promise<void> {
  for (const id of new Set(memberIds)) {
    await sql`update friendships set friend_ordinal = r.n
              from (select friend_id, row_number() over (order by friend_id) as n from friendships where member_id = ${id}) as r
              where friendships.member_id = ${id} and friendships.friend_id = r.friend_id`.execute(db);
  }
}

/** Device partners' apps: the friend has the platform on and shares through friends' apps. */
async function refreshSharing(db: Db, id: string): Promise<void> {
  await sql`update friendships
            set friend_shares = coalesce((select case when m.platform_enabled = 1 and m.share_via_friends = 1 then 1 else 0 end
                                          from members m where m.id = ${id}), 0)
            where friend_id = ${id} and member_id in (select friend_id from friendships where member_id = ${id})`.execute(db);
}

/**
 * Third-party apps: the friend has the platform on and an unrevoked grant with the app. What grants
 * change needs. Two servers refreshing one member at once (PostgreSQL) both insert: the second's
 * rows are already there, not an error. The rules still read each friend's grants, so a row left
 * by a race only makes the scan read a friend it then passes over.
 */
export async function refreshAppFriends(db: Db, id: string): Promise<void> {
  await sql`delete from app_friends where friend_id = ${id}`.execute(db);
  await sql`insert into app_friends (app_id, member_id, friend_id)
            select distinct g.app_id, f.friend_id, g.member_id
            from grants g
            join apps a on a.id = g.app_id and a.class = 'third_party'
            join members m on m.id = g.member_id and m.platform_enabled = 1
            join friendships f on f.member_id = g.member_id
            where g.member_id = ${id} and g.revoked_at is null
            on conflict do nothing`.execute(db);
}
