import { CompiledQuery, sql, type InferResult } from 'kysely';
import type { AppClass } from '../domain/app.js';
import { NO_EXCLUSIONS, type FriendExclusions } from '../domain/subject-decision.js';
import type { Instant } from '../domain/time.js';
import { chunks } from './batches.js';
import { numberOf, toIso } from './columns.js';
import type { Db } from './database.js';
import { refreshFriendNumberLists } from './friend-number-lists.js';
import { QueryText } from './query-text.js';
import { refreshVisibleFriends, renumberFriends } from './visible-friends.js';

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

/** Who reads a friend list: the app class decides which friends the scan reads, the app and partner which exclusions. */
export interface ListReader {
  readonly appId: string;
  readonly partnerId: string;
  readonly appClass: AppClass;
}

const INSERT_BATCH = 1000;

export class FriendshipRepository {
  private readonly scanTexts = new Map<ScanShape, string>();

  constructor(private readonly db: Db) {}

  /** Both directions of each friendship, and their members' lists by number (friend_number_lists) with them, in one transaction. */
  async insertMany(friendships: readonly Friendship[]): Promise<void> {
    const rows = friendships.flatMap(({ a, b, since }) => [
      { member_id: a, friend_id: b, since: toIso(since) },
      { member_id: b, friend_id: a, since: toIso(since) },
    ]);
    const work = async (db: Db) => {
      for (const batch of chunks(rows, INSERT_BATCH)) await db.insertInto('friendships').values(batch).execute();
      await forgetEnds(db, friendships);
      await followFriendships(db, rows.map((row) => row.member_id));
    };
    if (this.db.isTransaction) await work(this.db); else await this.db.transaction().execute(work);
  }

  /** Ends a friendship (both directions), and what follows friendships with it, in one transaction. */
  async unfriend(a: string, b: string): Promise<void> {
    const work = async (db: Db) => {
      await db.deleteFrom('friendships').where((eb) => eb.or([
        eb.and([eb('member_id', '=', a), eb('friend_id', '=', b)]),
        eb.and([eb('member_id', '=', b), eb('friend_id', '=', a)]),
      ])).execute();
      // Both directions by number, for a replay of requests logged while they were friends (migration 0042).
      await db.insertInto('ended_friendships').columns(['member_number', 'friend_number'])
        .expression(db.selectFrom('member_numbers as m').innerJoin('member_numbers as f', (join) => join.onRef('f.member_id', '<>', 'm.member_id'))
          .select(['m.number', 'f.number as friend']).where('m.member_id', 'in', [a, b]).where('f.member_id', 'in', [a, b]))
        .onConflict((c) => c.doNothing()).execute();
      await followFriendships(db, [a, b]);
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
   * Up to `limit` friends of `memberId` after `afterId`, in id order, among those the reader's app
   * class could see at all (a device partner's app: friends sharing through friends' apps; a
   * third-party app: friends with the platform on who use it, migration 0038), with each one's
   * settings and whether they exclude the reader (its app or its partner), in one statement. The
   * friends no app of that class may see are not read, so the scan's work does not grow with them
   * (issue 11, point 0); the rules still decide every friend it returns.
   */
  async visiblePage(memberId: string, afterId: string | null, limit: number, reader: ListReader): Promise<ListedFriend[]> {
    const shape = scanShape(reader.appClass, afterId !== null);
    const parameters = reader.appClass === 'third_party'
      ? [reader.appId, reader.partnerId, reader.appId, memberId]
      : [reader.appId, reader.partnerId, memberId];
    if (afterId !== null) parameters.push(afterId);
    const { rows } = await this.db.executeQuery(CompiledQuery.raw(this.scanSql(shape), [...parameters, limit]) as CompiledQuery<ScanRow>);
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
   * How many friends `memberId` has after `afterId` up to `throughId` (to the end when null): a
   * page's friends passed over are these less the ones it shows. The difference of two ordinals
   * (the last friend's at or before each bound), each read by key: the same work however many
   * friends lie between, where counting them would take longer the more hidden friends there are.
   */
  async countInRange(memberId: string, afterId: string | null, throughId: string | null): Promise<number> {
    const values = [memberId, ...(throughId === null ? [] : [throughId]), ...(afterId === null ? [] : [memberId, afterId])];
    const shape = `${afterId === null ? 'first' : 'after'}-${throughId === null ? 'end' : 'through'}`;
    const { rows } = await RANGE_COUNT.run(this.db, shape, values);
    return Number(rows[0]?.through ?? 0) - Number(rows[0]?.after ?? 0);
  }

  /**
   * The scan runs for every friend-list request and its builder costs more to compile than the
   * query takes to run; only its parameters vary, so each shape's text is compiled once per repository.
   */
  private scanSql(shape: ScanShape): string {
    const cached = this.scanTexts.get(shape);
    if (cached !== undefined) return cached;
    const thirdParty = shape.startsWith('third_party');
    const after = shape.endsWith('after');
    const compiled = scanQuery(this.db, thirdParty, after).compile();
    const expected = [...(thirdParty ? SCAN_PLACEHOLDERS : SCAN_PLACEHOLDERS.filter((p) => p !== 'scan-app-of-list')), ...(after ? ['scan-after'] : []), SCAN_LIMIT];
    if (compiled.parameters.length !== expected.length || compiled.parameters.some((value, i) => value !== expected[i])) {
      throw new Error('the friend scan must take its parameters in the order visiblePage passes them');
    }
    this.scanTexts.set(shape, compiled.sql);
    return compiled.sql;
  }

  async count(): Promise<number> {
    const row = await this.db.selectFrom('friendships').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return Number(row.n) / 2;
  }
}

/** After friendships of `members` changed: their lists by number, their friends' ordinals, who can see them (migrations 0038, 0040). */
/** Friends again: their ends (ended_friendships) no longer hold, in both directions. */
async function forgetEnds(db: Db, friendships: readonly Friendship[]): Promise<void> {
  for (const batch of chunks(friendships, INSERT_BATCH / 2)) {
    const pairs = sql.join(batch.flatMap(({ a, b }) => [sql`(${a}, ${b})`, sql`(${b}, ${a})`]));
    // By the pairs' numbers (two look-ups each), whatever the number of ends kept.
    await sql`with pair (a, b) as (values ${pairs})
      delete from ended_friendships where (member_number, friend_number) in (
        select m.number, f.number from pair join member_numbers m on m.member_id = pair.a join member_numbers f on f.member_id = pair.b)`.execute(db);
  }
}

async function followFriendships(db: Db, members: readonly string[]): Promise<void> {
  await refreshFriendNumberLists(db, members);
  await renumberFriends(db, members);
  await refreshVisibleFriends(db, members);
}

/** The ordinal of `member`'s last friend at or before `bound` (the last of all without one): how many friends that far. */
function ordinalThrough(db: Db, member: unknown, bound: unknown) {
  let query = db.selectFrom('friendships').select('friend_ordinal').where('member_id', '=', member as string);
  if (bound !== undefined) query = query.where('friend_id', '<=', bound as string);
  return query.orderBy('friend_id', 'desc').limit(sql<number>`1`);
}

const RANGE_COUNT = new QueryText((db, values, shape) => {
  const through = shape.endsWith('through');
  const [member, throughId] = [values[0], through ? values[1] : undefined];
  const rest = values.slice(through ? 2 : 1);
  return db.selectNoFrom([
    ordinalThrough(db, member, throughId).as('through'),
    (rest.length === 0 ? sql<number>`0` : ordinalThrough(db, rest[0], rest[1])).as('after'),
  ]);
});

const SCAN_PLACEHOLDERS = ['scan-app', 'scan-partner', 'scan-app-of-list', 'scan-member'] as const;
/** Stands for the limit while the scan's text is compiled; a number, as the limit is. */
const SCAN_LIMIT = 987_654_321;

type ScanShape = `${AppClass}-${'first' | 'after'}`;
const scanShape = (appClass: AppClass, after: boolean): ScanShape => `${appClass}-${after ? 'after' : 'first'}`;

/**
 * A page of the friends an app of the class could see, with their settings and whether they
 * exclude the reading app or partner: from `friendships` by its `friend_shares` index for a device
 * partner's app, from `app_friends` for a third-party app.
 */
function scanQuery(db: Db, thirdParty: boolean, after: boolean) {
  const source = thirdParty
    ? db.selectFrom('app_friends as f').where('f.app_id', '=', 'scan-app-of-list')
    : db.selectFrom('friendships as f').where((eb) => eb('f.friend_shares', '=', eb.lit(1)));
  let query = source
    .leftJoin('members as m', 'm.id', 'f.friend_id')
    .select([
      'f.friend_id', 'm.platform_enabled', 'm.share_via_friends', 'm.number',
      // 1: the friend excludes the app, 2: its partner, 3: both; read only where it can matter (platform on).
      sql<number | string | null>`case when m.platform_enabled = 1 then (
        select sum(case when e.kind = 'app' then 1 else 2 end) from member_friend_exclusions e
        where e.member_id = f.friend_id and ((e.kind = 'app' and e.target_id = ${'scan-app'}) or (e.kind = 'partner' and e.target_id = ${'scan-partner'}))
      ) end`.as('excluded'),
    ])
    .where('f.member_id', '=', 'scan-member');
  if (after) query = query.where('f.friend_id', '>', 'scan-after');
  return query.orderBy('f.friend_id').limit(SCAN_LIMIT);
}

type ScanRow = InferResult<ReturnType<typeof scanQuery>>[number];

function exclusionsOf(reader: ListReader, excluded: number): FriendExclusions {
  if (excluded === 0) return NO_EXCLUSIONS;
  return { apps: (excluded & 1) === 0 ? [] : [reader.appId], partners: (excluded & 2) === 0 ? [] : [reader.partnerId] };
}
