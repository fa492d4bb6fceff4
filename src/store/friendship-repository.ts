import { CompiledQuery, sql, type InferResult } from 'kysely';
import { NO_EXCLUSIONS, type FriendExclusions } from '../domain/subject-decision.js';
import type { Instant } from '../domain/time.js';
import { chunks } from './batches.js';
import { numberOf, toIso } from './columns.js';
import type { Db } from './database.js';
import { refreshFriendNumberLists } from './friend-number-lists.js';

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
  /** The friend's exclusions that name the reading app or its partner (the only ones that can matter to it). */
  readonly exclusions: FriendExclusions;
  /** The friend's member number (the audit counts take it with the friends released). */
  readonly number: number | undefined;
}

/** Who reads a friend list: the app and partner whose exclusions the scan looks for. */
export interface ListReader {
  readonly appId: string;
  readonly partnerId: string;
}

const INSERT_BATCH = 1000;

export class FriendshipRepository {
  private scanFirstText: string | undefined;
  private scanAfterText: string | undefined;

  constructor(private readonly db: Db) {}

  /** Both directions of each friendship, and their members' lists by number (friend_number_lists) with them, in one transaction. */
  async insertMany(friendships: readonly Friendship[]): Promise<void> {
    const rows = friendships.flatMap(({ a, b, since }) => [
      { member_id: a, friend_id: b, since: toIso(since) },
      { member_id: b, friend_id: a, since: toIso(since) },
    ]);
    const work = async (db: Db) => {
      for (const batch of chunks(rows, INSERT_BATCH)) await db.insertInto('friendships').values(batch).execute();
      await refreshFriendNumberLists(db, rows.map((row) => row.member_id));
    };
    if (this.db.isTransaction) await work(this.db); else await this.db.transaction().execute(work);
  }

  /** Ends a friendship (both directions), and their lists by number with it, in one transaction. */
  async unfriend(a: string, b: string): Promise<void> {
    const work = async (db: Db) => {
      await db.deleteFrom('friendships').where((eb) => eb.or([
        eb.and([eb('member_id', '=', a), eb('friend_id', '=', b)]),
        eb.and([eb('member_id', '=', b), eb('friend_id', '=', a)]),
      ])).execute();
      await refreshFriendNumberLists(db, [a, b]);
    };
    if (this.db.isTransaction) await work(this.db); else await this.db.transaction().execute(work);
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
   * `page` with each friend's platform settings and, for those with the platform on, whether they
   * exclude `reader` (its app or its partner), in one statement: a friend list decides every friend it passes, and indexed joins and
   * probes are much cheaper than more look-ups by id list. Exclusions of other apps and partners
   * cannot change what this reader sees, so they are not read.
   */
  async pageWithSettings(memberId: string, afterId: string | null, limit: number, reader: ListReader): Promise<ListedFriend[]> {
    const first = afterId === null;
    const parameters = first ? [reader.appId, reader.partnerId, memberId, limit] : [reader.appId, reader.partnerId, memberId, afterId, limit];
    const { rows } = await this.db.executeQuery(CompiledQuery.raw(this.scanSql(first), parameters) as CompiledQuery<ScanRow>);
    return rows.map((row) => ({
      id: row.friend_id,
      settings: row.platform_enabled === null || row.share_via_friends === null
        ? undefined
        : { platformEnabled: row.platform_enabled === 1, shareViaFriends: row.share_via_friends === 1 },
      exclusions: exclusionsOf(reader, Number(row.excluded ?? 0)),
      number: numberOf(row.number),
    }));
  }

  /**
   * The scan runs for every friend-list request and its builder costs more to compile than the
   * query takes to run; only its parameters vary, so its text is compiled once per repository.
   */
  private scanSql(first: boolean): string {
    const cached = first ? this.scanFirstText : this.scanAfterText;
    if (cached !== undefined) return cached;
    const placeholders = first ? SCAN_PLACEHOLDERS.slice(0, 3) : SCAN_PLACEHOLDERS;
    const compiled = scanQuery(this.db, placeholders[0]!, placeholders[1]!, placeholders[2]!, first ? null : placeholders[3]!).compile();
    const expected = [...placeholders, SCAN_LIMIT];
    if (compiled.parameters.length !== expected.length || compiled.parameters.some((value, i) => value !== expected[i])) {
      throw new Error('the friend scan must take its parameters in the order pageWithSettings passes them');
    }
    if (first) this.scanFirstText = compiled.sql;
    else this.scanAfterText = compiled.sql;
    return compiled.sql;
  }

  async count(): Promise<number> {
    const row = await this.db.selectFrom('friendships').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return Number(row.n) / 2;
  }
}

const SCAN_PLACEHOLDERS = ['scan-app', 'scan-partner', 'scan-member', 'scan-after'] as const;
/** Stands for the limit while the scan's text is compiled; a number, as the limit is. */
const SCAN_LIMIT = 987_654_321;

/** A page of friends with their settings and whether they exclude the reading app or partner. */
function scanQuery(db: Db, appId: string, partnerId: string, memberId: string, afterId: string | null) {
  let query = db
    .selectFrom('friendships as f')
    .leftJoin('members as m', 'm.id', 'f.friend_id')
    .select([
      'f.friend_id', 'm.platform_enabled', 'm.share_via_friends', 'm.number',
      // 1: the friend excludes the app, 2: its partner, 3: both; read only where it can matter (platform on).
      sql<number | string | null>`case when m.platform_enabled = 1 then (
        select sum(case when e.kind = 'app' then 1 else 2 end) from member_friend_exclusions e
        where e.member_id = f.friend_id and ((e.kind = 'app' and e.target_id = ${appId}) or (e.kind = 'partner' and e.target_id = ${partnerId}))
      ) end`.as('excluded'),
    ])
    .where('f.member_id', '=', memberId);
  if (afterId !== null) query = query.where('f.friend_id', '>', afterId);
  return query.orderBy('f.friend_id').limit(SCAN_LIMIT);
}

type ScanRow = InferResult<ReturnType<typeof scanQuery>>[number];

function exclusionsOf(reader: ListReader, excluded: number): FriendExclusions {
  if (excluded === 0) return NO_EXCLUSIONS;
  return { apps: (excluded & 1) === 0 ? [] : [reader.appId], partners: (excluded & 2) === 0 ? [] : [reader.partnerId] };
}
