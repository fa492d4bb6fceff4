import type { Instant } from '../domain/time.js';
import { chunks } from './batches.js';
import { toIso } from './columns.js';
import type { Db } from './database.js';

export interface Friendship {
  readonly a: string;
  readonly b: string;
  readonly since: Instant;
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

  async count(): Promise<number> {
    const row = await this.db.selectFrom('friendships').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return Number(row.n) / 2;
  }
}
