import type { Instant } from '../domain/time.js';
import { chunks } from './batches.js';
import { toIso } from './columns.js';
import type { Db } from './database.js';

export interface Friendship {
  readonly a: string;
  readonly b: string;
  readonly since: Instant;
}

/** A friend as a friend list's scan reads them: the settings that decide whether they are seen at all. */
export interface ListedFriend {
  readonly id: string;
  /** Undefined when the friend has no member row: such a friend is skipped, as one unknown. */
  readonly settings: { readonly platformEnabled: boolean; readonly shareViaFriends: boolean } | undefined;
}

const INSERT_BATCH = 1000;

export class FriendshipRepository {
  constructor(private readonly db: Db) {}

  async insertMany(friendships: readonly Friendship[]): Promise<void> {
    const rows = friendships.flatMap(({ a, b, since }) => [
      { member_id: a, friend_id: b, since: toIso(since) },
      { member_id: b, friend_id: a, since: toIso(since) },
    ]);
    for (const batch of chunks(rows, INSERT_BATCH)) await this.db.insertInto('friendships').values(batch).execute();
  }

  async areFriends(a: string, b: string): Promise<boolean> {
    const row = await this.db
      .selectFrom('friendships')
      .select('friend_id')
      .where('member_id', '=', a)
      .where('friend_id', '=', b)
      .executeTakeFirst();
    return row !== undefined;
  }

  /** Up to `limit` friend ids of `memberId` in id order, starting after `afterId`. */
  async page(memberId: string, afterId: string | null, limit: number): Promise<string[]> {
    let query = this.db
      .selectFrom('friendships')
      .select('friend_id')
      .where('member_id', '=', memberId)
      .orderBy('friend_id')
      .limit(limit);
    if (afterId !== null) query = query.where('friend_id', '>', afterId);
    const rows = await query.execute();
    return rows.map((row) => row.friend_id);
  }

  /**
   * `page` with each friend's platform settings, in the same query: a friend list decides every
   * friend it passes, and one indexed join is much cheaper than a second look-up by id list.
   */
  async pageWithSettings(memberId: string, afterId: string | null, limit: number): Promise<ListedFriend[]> {
    let query = this.db
      .selectFrom('friendships as f')
      .leftJoin('members as m', 'm.id', 'f.friend_id')
      .select(['f.friend_id', 'm.platform_enabled', 'm.share_via_friends'])
      .where('f.member_id', '=', memberId)
      .orderBy('f.friend_id')
      .limit(limit);
    if (afterId !== null) query = query.where('f.friend_id', '>', afterId);
    const rows = await query.execute();
    return rows.map((row) => ({
      id: row.friend_id,
      settings: row.platform_enabled === null || row.share_via_friends === null
        ? undefined
        : { platformEnabled: row.platform_enabled === 1, shareViaFriends: row.share_via_friends === 1 },
    }));
  }

  async count(): Promise<number> {
    const row = await this.db.selectFrom('friendships').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return Number(row.n) / 2;
  }
}
